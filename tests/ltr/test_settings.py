"""Training settings are declared (``ltr.settings.SETTINGS``): an experiment that sets anything
else fails naming the setting and its file, and every declared setting is read by some code."""

import importlib
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from ltr import run_training
from ltr.settings import SETTINGS, TrainSettings, UnknownSettingError

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted(p.relative_to(REPO / "ltr/train_settings").with_suffix("").as_posix()
                     for p in (REPO / "ltr/train_settings").glob("*/*.py") if p.name != "__init__.py")


def read_pattern(name: str, receivers: str) -> re.Pattern:
    """A read of setting ``name``: ``settings.name`` (not an assignment) or
    ``getattr(settings, "name" ...)``."""
    return re.compile(rf"\b(?:{receivers})\.{re.escape(name)}\b(?!\s*=(?!=))"
                      rf"|getattr\(\s*[\w.]*settings\s*,\s*[\"']{re.escape(name)}[\"']")


def test_every_declared_setting_is_read_somewhere():
    sources = {path: path.read_text() for folder in ("ltr", "pytracking") for path in (REPO / folder).rglob("*.py")}
    unread = []
    for name in SETTINGS:
        # TrainSettings reads its own fields as self.<name>; elsewhere self.<name> is something else.
        found = any(read_pattern(name, "settings|self" if path == REPO / "ltr/settings.py" else "settings").search(text)
                    for path, text in sources.items())
        if not found:
            unread.append(name)
    assert not unread, f"declared in ltr/settings.py SETTINGS but read by no code (remove them): {unread}"


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_train_settings_file_configures_cleanly(experiment, environment):
    module = importlib.import_module(f"ltr.train_settings.{experiment.replace('/', '.')}")
    if not hasattr(module, "configure"):
        pytest.skip("no configure(settings): its settings are set while it trains")
    family, name = experiment.split("/")
    settings = TrainSettings(module_name=family, script_name=name, device="cpu")
    module.configure(settings)
    assert {name for name in vars(settings) if not name.startswith('_')} <= set(SETTINGS)


def generated_experiment(tmp_path: Path, monkeypatch) -> Path:
    """ltr/train_settings/tests/typo.py, as run_training imports it, with a misspelt setting."""
    path = tmp_path / "typo.py"
    path.write_text(textwrap.dedent("""
        from ltr.train_settings.bbreg import atom_synthetic

        def run(settings):
            atom_synthetic.configure(settings)
            settings.batch_sise = 4
            raise AssertionError("reached training")
        """))
    spec = importlib.util.spec_from_file_location("ltr.train_settings.tests.typo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "ltr.train_settings.tests.typo", module)
    return path


def test_a_misspelt_setting_names_itself_the_file_and_the_closest_name(tmp_path, monkeypatch, environment):
    path = generated_experiment(tmp_path, monkeypatch)
    with pytest.raises(UnknownSettingError, match=rf"{re.escape(str(path))} sets setting 'batch_sise', which no "
                                                  r"code reads \(did you mean 'batch_size'\?\)") as error:
        run_training.run_training("tests", "typo", device="cpu")
    assert isinstance(error.value, ValueError) and error.value.names == {"batch_sise": str(path)}
    assert "ltr/train_settings/tests/typo.py" in str(error.value)


def test_run_training_reports_it_in_one_line(tmp_path, monkeypatch, environment):
    path = generated_experiment(tmp_path, monkeypatch)
    with pytest.raises(SystemExit) as error:
        run_training.main(["tests", "typo", "--device", "cpu"])
    message = str(error.value.code)
    assert "'batch_sise'" in message and str(path) in message and "'batch_size'" in message and "\n" not in message


def test_private_names_are_an_experiments_own():
    settings = TrainSettings(module_name="tests", script_name="tiny", device="cpu")
    settings._scratch = 1
    assert settings._scratch == 1
