"""Packing results for the GOT-10k and TrackingNet servers: the zip layouts, and refusing
incomplete results."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ltr.dataset.synthetic import SceneConfig, generate_dataset
from pytracking.evaluation.results import run_folder
from pytracking.evaluation import get_dataset
from pytracking.evaluation.submission import IncompleteResultsError, pack_got10k, pack_trackingnet

REPO = Path(__file__).resolve().parents[3]
FRAMES = 6


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, train=0, val=3, config=SceneConfig(width=64, height=48, frames=FRAMES), workers=1)
    return root


@pytest.fixture
def dataset(synthetic_root):
    return get_dataset("synthetic", root=synthetic_root)


def write_run(results: Path, dataset, run_id, offset: float) -> None:
    """Box ``[offset + frame, 2, 3.25, 4]`` and time ``0.01 * (run + 1)`` for every frame, as
    the runner writes them (tab separated)."""
    folder = run_folder(results, "fake", "p", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for seq in dataset:
        rows = [f"{offset + i:.4f}\t2.0000\t3.2500\t4.0000\n" for i in range(len(seq))]
        (folder / f"{seq.name}.txt").write_text("".join(rows))
        (folder / f"{seq.name}_time.txt").write_text(f"{0.01 * (offset + 1):.6f}\n" * len(seq))


def test_got10k_layout_with_three_runs(dataset, clean_env):
    results = clean_env / "results"
    for run in range(3):
        write_run(results, dataset, run, float(run))
    path = pack_got10k("fake", "p", [0, 1, 2], dataset=dataset, output=clean_env / "sub.zip", results_path=results)
    assert path == clean_env / "sub.zip"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        expected = {f"{s}/{s}_{suffix}.txt" for s in dataset.names() for suffix in ("001", "002", "003", "time")}
        assert names == expected
        name = dataset[0].name
        third = archive.read(f"{name}/{name}_003.txt").decode().splitlines()
        assert len(third) == FRAMES and third[1] == "3.0000,2.0000,3.2500,4.0000"
        times = np.array(archive.read(f"{name}/{name}_time.txt").decode().split(), float)
        assert times.shape == (FRAMES,) and np.allclose(times, 0.02)  # mean of 0.01, 0.02, 0.03
    assert not [p for p in clean_env.iterdir() if p.name.startswith(".sub.zip")]  # no temporary left


def test_trackingnet_layout_and_default_output(dataset, clean_env):
    results = clean_env / "workspace" / "tracking_results"
    write_run(results, dataset, None, 5.0)
    path = pack_trackingnet("fake", "p", dataset=dataset)
    assert path == clean_env / "workspace" / "submissions" / "fake_p_trackingnet.zip"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [f"{s}.txt" for s in dataset.names()]
        rows = archive.read(f"{dataset[2].name}.txt").decode().splitlines()
        assert rows[0] == "5.0000,2.0000,3.2500,4.0000" and len(rows) == FRAMES


def test_incomplete_results_are_refused(dataset, clean_env):
    results = clean_env / "results"
    write_run(results, dataset, None, 0.0)
    folder = run_folder(results, "fake", "p")
    (folder / f"{dataset[0].name}.txt").unlink()
    short = folder / f"{dataset[2].name}.txt"
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:3]))
    (folder / f"{dataset[1].name}_time.txt").unlink()
    output = clean_env / "sub.zip"
    with pytest.raises(IncompleteResultsError) as error:
        pack_got10k("fake", "p", dataset=dataset, output=output, results_path=results)
    message = str(error.value)
    assert "3 results" in message and all(name in message for name in dataset.names())
    assert "has 3 rows" in message and "no time file" in message
    assert not output.exists()
    # TrackingNet needs no times: two sequences are still missing.
    with pytest.raises(IncompleteResultsError, match=rf"(?s)2 results.*{dataset[0].name}"):
        pack_trackingnet("fake", "p", dataset=dataset, output=output, results_path=results)


def test_pack_script(synthetic_root, dataset, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(tmp_path / "ws"),
               TRACKING_SYNTHETIC_DIR=str(synthetic_root))
    results = tmp_path / "ws" / "tracking_results"
    for run in (1, 2):
        write_run(results, dataset, run, float(run))
    command = [sys.executable, "pytracking/run_pack_submission.py", "got10k", "fake", "p", "--dataset", "synthetic",
               "--runid", "1", "2", "--output", str(tmp_path / "out.zip")]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'out.zip'}" in result.stdout
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert len(archive.namelist()) == 9  # three sequences: _001, _002, _time

    command[command.index("--runid") + 2] = "3"  # run 3 does not exist
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "p_003" in result.stderr and dataset[0].name in result.stderr
