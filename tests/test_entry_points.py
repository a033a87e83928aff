"""Entry scripts run from the repository root of an installed checkout, with no path set-up."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_generates_and_summarises(tmp_path):
    env = {**os.environ, "TRACKING_LOCAL_FILE": str(tmp_path / "absent.py"),
           "TRACKING_WORKSPACE_DIR": str(tmp_path / "workspace")}
    command = [sys.executable, "pytracking/run_quickstart.py", "--train", "2", "--val", "1",
               "--frames", "6", "--width", "128", "--height", "96"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "3 sequences written" in result.stdout
    synthetic = tmp_path / "workspace" / "synthetic"
    assert (synthetic / "train" / "list.txt").read_text().split() == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert (tmp_path / "workspace" / "quickstart" / "quickstart.log").is_file()
    # A second run finds the dataset complete and writes nothing.
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "0 sequences written" in again.stdout


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text().splitlines()
    fence = readme.index("```bash")
    main_job, tests = (line.split("#")[0].strip() for line in readme[fence + 1:fence + 3])
    assert "pytracking/run_quickstart.py" in main_job
    assert tests in (REPO / ".ci" / "run").read_text().splitlines()
