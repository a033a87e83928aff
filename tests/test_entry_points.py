"""Entry scripts run from the repository root of an installed checkout, with no path set-up."""

import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_runs_the_whole_loop_and_resumes(tmp_path):
    env = {**os.environ, "TRACKING_LOCAL_FILE": os.devnull,
           "TRACKING_WORKSPACE_DIR": str(tmp_path / "workspace")}
    command = [sys.executable, "pytracking/run_quickstart.py", "--train", "2", "--val", "1",
               "--frames", "24", "--width", "128", "--height", "96", "--epochs", "1", "--epoch_samples", "32"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3 sequences written" in result.stdout
    workspace = tmp_path / "workspace"
    assert (workspace / "synthetic" / "train" / "list.txt").read_text().split() == [
        "GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert (workspace / "networks" / "atom_synthetic.pth.tar").is_file()
    for name, param in (("atom", "synthetic"), ("atom", "synthetic_improved"), ("atom", "synthetic_no_iounet"),
                        ("opencv", "csrt")):
        assert len((workspace / "tracking_results" / name / param / "GOT-10k_Val_000001.txt").read_text().splitlines()) == 24
    table = [line for line in result.stdout.splitlines() if line.startswith(("ATOM", "OpenCV CSRT"))]
    assert len(table) == 4, result.stdout
    assert (workspace / "result_plots" / "synthetic" / "success_plot.png").is_file()
    assert (workspace / "quickstart" / "quickstart.log").is_file()
    # A second run finds everything done: nothing generated, trained or tracked again.
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 sequences written" in again.stdout and "0 sequences run" in again.stdout
    assert [line for line in again.stdout.splitlines() if line.startswith(("ATOM", "OpenCV CSRT"))] == table
    # The same data and seed in another workspace: the same network and the same table.
    other = {**env, "TRACKING_WORKSPACE_DIR": str(tmp_path / "other"),
             "TRACKING_SYNTHETIC_DIR": str(workspace / "synthetic")}
    repeat = subprocess.run(command, cwd=REPO, env=other, capture_output=True, text=True)
    assert repeat.returncode == 0, repeat.stderr[-3000:]
    first, second = (torch.load(folder / "networks" / "atom_synthetic.pth.tar", weights_only=True)["net"]
                     for folder in (workspace, tmp_path / "other"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert [line for line in repeat.stdout.splitlines() if line.startswith(("ATOM", "OpenCV CSRT"))] == table


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text().splitlines()
    fence = readme.index("```bash")
    end = readme.index("```", fence + 1)
    commands = [line.split("#")[0].strip() for line in readme[fence + 1:end]]
    main_job, mot_quick_start, tests, slow_tests = commands
    assert main_job.endswith("pytracking/run_quickstart.py")
    assert mot_quick_start.endswith("pytracking/run_quickstart.py --mot")
    assert tests.endswith("-m pytest -q") and slow_tests.endswith("-m pytest -q -m slow")
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert tests in ci and slow_tests in ci
    assert ci.index(tests) < ci.index(slow_tests)  # installs first
