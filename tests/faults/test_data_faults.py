"""Fault cases of data and environment (issue 14): each bad input gives one clear error naming the
file or field and what to do, before training starts; nothing is created or lost on the way.
Generated data only; every case is a separate test and fast."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from admin.environment import EnvironmentPathError, LocalFileError, env_settings
from ltr.data.sampler import ATOMSampler
from ltr.dataset import DatasetCheckError, Got10k, Lasot
from ltr.settings import TrainSettings
from ltr.train_settings.bbreg import atom_default, atom_synthetic

REPO = Path(__file__).resolve().parents[2]


def got10k_tree(root: Path, names: list[str], length: int = 3) -> Path:
    root.mkdir(parents=True)
    (root / "list.txt").write_text("".join(n + "\n" for n in names))
    for name in names:
        (root / name).mkdir()
        (root / name / "groundtruth.txt").write_text("1,1,4,4\n" * length)
        (root / name / "absence.label").write_text("0\n" * length)
        (root / name / "cover.label").write_text("8\n" * length)
        (root / name / "00000001.jpg").write_bytes(b"jpeg")
    return root


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The command failed with exactly one line on stderr and no traceback."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def run_module(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=120)


def test_empty_list_txt_fails_before_training_naming_the_file(tmp_path, isolated_workspace, monkeypatch):
    got10k_tree(tmp_path / "synthetic" / "train", ["GOT-10k_Train_000001"])
    got10k_tree(tmp_path / "synthetic" / "val", ["GOT-10k_Val_000001"])
    (tmp_path / "synthetic" / "train" / "list.txt").write_text("")
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(tmp_path / "synthetic"))
    with pytest.raises(DatasetCheckError) as error:
        atom_synthetic.datasets(None)
    assert f"{tmp_path / 'synthetic' / 'train' / 'list.txt'} lists no sequences" in str(error.value)


def test_empty_dataset_is_refused_by_the_sampler_not_a_worker(tmp_path):
    dataset = Got10k(str(got10k_tree(tmp_path / "got10k", ["a"])), seq_ids=[])
    with pytest.raises(ValueError, match="got10k have no sequences"):
        ATOMSampler([dataset], None, samples_per_epoch=2, max_gap=5)


def test_syntax_error_in_local_file_is_one_line_in_admin_show(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("otb_path = '/data/otb'\nlasot_dir = /data/lasot\n")
    line = one_error_line(run_module("admin", "show", env={"TRACKING_LOCAL_FILE": str(local)}))
    assert line.startswith(f"Error: {local}, line 2: invalid syntax") and "fix that line" in line


def test_syntax_error_in_local_file_is_one_line_in_the_generator(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("synthetic_dir = '/data\n")
    line = one_error_line(run_module("ltr.dataset.synthetic", "--train", "1", env={"TRACKING_LOCAL_FILE": str(local)}))
    assert line.startswith(f"Error: {local}, line 1: ")


def test_syntax_error_in_local_file_is_a_value_error_for_every_entry_point(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("otb_path = (\n")
    with pytest.raises(LocalFileError, match=rf"^{local}, line 1: .*fix that line") as error:
        env_settings({"TRACKING_LOCAL_FILE": str(local)})
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


def test_short_groundtruth_is_named_with_its_shortfall(tmp_path):
    root = got10k_tree(tmp_path / "got10k", ["seq"], length=5)
    (root / "seq" / "groundtruth.txt").write_text("1,1,4,4\n" * 3)
    with pytest.raises(ValueError, match=r"groundtruth.txt is short by 2 lines \(3 boxes where absence.label and "
                                         r"cover.label have 5\)") as error:
        Got10k(str(root)).get_sequence_info(0)
    assert "fix or replace groundtruth.txt" in str(error.value)


def test_missing_tracking_local_file_is_an_error(tmp_path):
    missing = tmp_path / "locl.py"
    with pytest.raises(LocalFileError, match=rf"TRACKING_LOCAL_FILE={missing} does not exist"):
        env_settings({"TRACKING_LOCAL_FILE": str(missing)})


def test_dataset_field_that_is_a_file_is_rejected(tmp_path):
    archive = tmp_path / "LaSOT.zip"
    archive.write_bytes(b"PK")
    settings = env_settings({"TRACKING_LOCAL_FILE": os.devnull, "TRACKING_LASOT_DIR": str(archive)})
    with pytest.raises(EnvironmentPathError, match=r"lasot_dir = .*LaSOT.zip .* is a file, not a folder"):
        settings.lasot_dir


def test_reading_missing_synthetic_dir_creates_nothing(tmp_path):
    folder = tmp_path / "never-generated"
    settings = env_settings({"TRACKING_LOCAL_FILE": os.devnull, "TRACKING_SYNTHETIC_DIR": str(folder),
                             "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws")})
    assert settings.synthetic_dir == str(folder) and not folder.exists()


def test_missing_dataset_fields_reported_together(isolated_workspace):
    settings = TrainSettings(module_name="bbreg", script_name="atom_default", device="cpu")
    atom_default.configure(settings)
    with pytest.raises(DatasetCheckError) as error:
        atom_default.datasets(settings)
    text = str(error.value)
    assert all(variable in text for variable in ("TRACKING_LASOT_DIR", "TRACKING_TRACKINGNET_DIR", "TRACKING_COCO_DIR"))


def test_partial_lasot_reported_before_training_not_in_a_worker(tmp_path):
    root = tmp_path / "lasot"
    (root / "kite" / "kite-1").mkdir(parents=True)
    with pytest.raises(DatasetCheckError, match=r"lasot: sequence kite-1: .*groundtruth.txt is missing"
                                                r"[\s\S]*lasot: sequence kite-7 has no folder"):
        Lasot(str(root), vid_ids=[1, 7]).check()


def test_training_on_missing_datasets_lists_them_without_traceback(tmp_path):
    env = {"TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws"), "PYTHONPATH": str(REPO)}
    env.update({name: "" for name in ("TRACKING_LASOT_DIR", "TRACKING_TRACKINGNET_DIR", "TRACKING_COCO_DIR")})
    result = subprocess.run([sys.executable, "ltr/run_training.py", "bbreg", "atom_default", "--device", "cpu"],
                            capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "3 problems with the training datasets" in result.stderr
    assert all(field in result.stderr for field in ("lasot_dir", "trackingnet_dir", "coco_dir"))
