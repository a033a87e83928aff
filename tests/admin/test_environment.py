import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from admin import environment
from admin.environment import (FIELDS, EnvironmentPathError, create_local_file, env_settings)

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
    assert settings.synthetic_dir == str(workspace / "synthetic")
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
    with pytest.raises(TypeError, match="nfs_path"):
        settings_for(local_file)


def test_template_lists_every_field_once():
    tree = ast.parse(environment.TEMPLATE_FILE.read_text())
    assigned = [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)]
    assert assigned == [field.name for field in FIELDS]


def test_template_creates_a_working_file_and_never_overwrites(tmp_path):
    path = tmp_path / "admin" / "local.py"
    assert create_local_file(path)
    settings = settings_for(path)
    assert all(state in ("not set", "created on use", "missing", "ok") for *_, state in settings.describe())
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
