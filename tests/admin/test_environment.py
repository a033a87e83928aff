import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from admin import environment
from admin.environment import (FIELDS, EnvironmentPathError, LocalFileError, create_local_file, env_settings)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def local_file(tmp_path):
    """A local.py made from the template, and an environment that points at it."""
    path = tmp_path / "local.py"
    assert create_local_file(path)
    return path


def settings_for(local_file: Path, **variables: str):
    return env_settings({"TRACKING_LOCAL_FILE": str(local_file), **variables})


def set_field(local_file: Path, name: str, value: str) -> None:
    text = local_file.read_text()
    line = next(l for l in text.splitlines() if l.startswith(f"{name} = "))
    local_file.write_text(text.replace(line, f"{name} = {value!r}"))


def test_unset_field_names_field_file_and_variable(local_file):
    settings = settings_for(local_file)
    with pytest.raises(EnvironmentPathError) as error:
        settings.otb_path
    message = str(error.value)
    assert "otb_path" in message and str(local_file) in message and "TRACKING_OTB_PATH" in message
    assert "not set" in message
    assert error.value.field == "otb_path"


def test_missing_path_names_the_path(local_file, tmp_path):
    set_field(local_file, "lasot_path", str(tmp_path / "nowhere"))
    settings = settings_for(local_file)
    with pytest.raises(EnvironmentPathError, match="does not exist") as error:
        settings.lasot_path
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "TRACKING_LASOT_PATH" in message
    assert str(local_file) in message


def test_variable_overrides_file(local_file, tmp_path):
    from_file, from_variable = tmp_path / "a", tmp_path / "b"
    from_file.mkdir()
    from_variable.mkdir()
    set_field(local_file, "otb_path", str(from_file))
    assert settings_for(local_file).otb_path == str(from_file)
    settings = settings_for(local_file, TRACKING_OTB_PATH=str(from_variable))
    assert settings.otb_path == str(from_variable)
    assert settings.source("otb_path") == "TRACKING_OTB_PATH"
    # An empty variable does not count as set.
    assert settings_for(local_file, TRACKING_OTB_PATH="").otb_path == str(from_file)


def test_every_field_has_its_variable(local_file, tmp_path):
    for field in FIELDS:
        folder = tmp_path / "by_variable" / field.name
        folder.mkdir(parents=True)
        settings = settings_for(local_file, **{f"TRACKING_{field.name.upper()}": str(folder)})
        assert getattr(settings, field.name) == str(folder)


def test_relative_path_in_file_is_taken_from_repository_root(local_file):
    set_field(local_file, "vot_path", "tests")
    assert settings_for(local_file).vot_path == str(REPO / "tests")


def test_output_folders_follow_workspace_and_are_created(local_file, tmp_path):
    workspace = tmp_path / "ws"
    settings = settings_for(local_file, TRACKING_WORKSPACE_DIR=str(workspace))
    assert not workspace.exists()
    assert settings.tensorboard_dir == str(workspace / "tensorboard")
    assert (workspace / "tensorboard").is_dir()
    assert settings.results_path == str(workspace / "tracking_results")
    # The generated dataset is read, not written, through the field: its folder is not created.
    assert settings.synthetic_dir == str(workspace / "synthetic")
    assert not (workspace / "synthetic").exists()
    # Inputs are never created: a missing pretrained-network folder is an error.
    with pytest.raises(EnvironmentPathError, match="pretrained_networks"):
        settings.pretrained_networks


def test_default_workspace_is_git_ignored():
    assert environment.DEFAULT_WORKSPACE == REPO / "workspace"
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "workspace/" in ignored and "admin/local.py" in ignored


def test_unknown_field_in_file_is_an_error(local_file):
    local_file.write_text(local_file.read_text() + "\notb_pth = '/data/otb'\n")
    with pytest.raises(ValueError, match="did you mean 'otb_path'"):
        settings_for(local_file)


def test_non_string_value_is_an_error(local_file):
    local_file.write_text(local_file.read_text() + "\nnfs_path = 3\n")
    with pytest.raises(LocalFileError, match="nfs_path must be a path string, not int; write it in quotes"):
        settings_for(local_file)


def test_template_lists_every_field_once():
    tree = ast.parse(environment.TEMPLATE_FILE.read_text())
    assigned = [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)]
    assert assigned == [field.name for field in FIELDS]


def test_template_creates_a_working_file_and_never_overwrites(tmp_path):
    path = tmp_path / "admin" / "local.py"
    assert create_local_file(path)
    settings = settings_for(path)
    assert all(state in ("not set", "created on use", "not generated", "missing", "ok")
               for *_, state in settings.describe())
    assert settings.value("workspace_dir") == str(environment.DEFAULT_WORKSPACE)
    assert settings.source("workspace_dir") == "default"
    path.write_text("otb_path = '/mine'\n")
    assert not create_local_file(path)
    assert path.read_text() == "otb_path = '/mine'\n"
    assert not list(path.parent.glob(".local-*"))


def test_readme_documents_every_variable():
    readme = (REPO / "README.md").read_text()
    missing = [f.variable for f in FIELDS if f.variable not in readme]
    assert not missing


def test_show_command_lists_fields(local_file):
    result = subprocess.run([sys.executable, "-m", "admin", "show"], capture_output=True, text=True,
                            env={**os.environ, "TRACKING_LOCAL_FILE": str(local_file)}, check=True)
    for field in FIELDS:
        assert field.name in result.stdout


def test_syntax_error_in_local_file_names_file_line_and_fix(local_file):
    text = local_file.read_text().replace("otb_path = ''", "otb_path = '/data/otb")
    local_file.write_text(text)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith("otb_path = '/data/otb"))
    with pytest.raises(LocalFileError) as error:
        settings_for(local_file)
    message = str(error.value)
    assert message.startswith(f"{local_file}, line {line}: ") and "\n" not in message
    assert "fix that line" in message and "local_template.py" in message
    assert error.value.line == line and error.value.path == local_file
    assert isinstance(error.value, ValueError)  # the entry points' handlers catch ValueError


def test_error_raised_while_running_local_file_names_its_line(local_file):
    local_file.write_text("import os\n\notb_path = data_root + '/otb'\n")
    with pytest.raises(LocalFileError, match=rf"{local_file}, line 3: NameError: name 'data_root' is not defined"):
        settings_for(local_file)


def test_missing_local_file_named_by_the_variable_is_an_error(tmp_path):
    missing = tmp_path / "typo" / "local.py"
    with pytest.raises(LocalFileError) as error:
        env_settings({"TRACKING_LOCAL_FILE": str(missing)})
    message = str(error.value)
    assert f"TRACKING_LOCAL_FILE={missing} does not exist" in message and "create-local" in message


def test_devnull_means_no_local_file(tmp_path):
    settings = env_settings({"TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(tmp_path)})
    assert settings.value("otb_path") is None and settings.value("workspace_dir") == str(tmp_path)


def test_default_local_file_may_be_absent(monkeypatch, tmp_path):
    # Without TRACKING_LOCAL_FILE a missing admin/local.py just means defaults (a fresh checkout).
    monkeypatch.setattr(environment, "LOCAL_FILE", tmp_path / "local.py")
    assert env_settings({}).value("otb_path") is None


def test_input_path_that_is_a_file_is_rejected(local_file, tmp_path):
    not_a_folder = tmp_path / "otb.zip"
    not_a_folder.write_bytes(b"PK")
    settings = settings_for(local_file, TRACKING_OTB_PATH=str(not_a_folder))
    with pytest.raises(EnvironmentPathError, match="is a file, not a folder") as error:
        settings.otb_path
    assert error.value.state == "file" and "TRACKING_OTB_PATH" in str(error.value)
    assert dict((name, state) for name, _, _, state in settings.describe())["otb_path"] == "file"


def test_reading_a_missing_synthetic_dir_never_creates_it(local_file, tmp_path, monkeypatch):
    from ltr.dataset import SyntheticTracking

    folder = tmp_path / "synthetic"
    monkeypatch.setenv("TRACKING_LOCAL_FILE", str(local_file))
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(folder))
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "ws"))
    settings = env_settings()
    assert settings.synthetic_dir == str(folder)
    assert dict((name, state) for name, _, _, state in settings.describe())["synthetic_dir"] == "not generated"
    with pytest.raises(EnvironmentPathError, match="does not exist.*python -m ltr.dataset.synthetic"):
        SyntheticTracking(split="train")
    assert not folder.exists()
    # Output folders are still created when read.
    assert Path(settings.results_path).is_dir()


def test_show_command_reports_a_broken_local_file_in_one_line(local_file):
    local_file.write_text("otb_path = '/data\n")
    result = subprocess.run([sys.executable, "-m", "admin", "show"], capture_output=True, text=True,
                            env={**os.environ, "TRACKING_LOCAL_FILE": str(local_file)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"Error: {local_file}, line 1: ") and "Traceback" not in result.stderr


def test_create_local_creates_the_file_the_variable_names(tmp_path):
    path = tmp_path / "new" / "local.py"
    result = subprocess.run([sys.executable, "-m", "admin", "create-local"], capture_output=True, text=True,
                            env={**os.environ, "TRACKING_LOCAL_FILE": str(path)}, check=True)
    assert f"created {path}" in result.stdout and path.is_file()
