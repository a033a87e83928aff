"""Fixtures for the evaluation dataset tests: an environment that no admin/local.py or
TRACKING_* variable of the user's leaks into, and writers of annotation trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.environment import FIELDS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path) -> Path:
    """No local file and no TRACKING_* field variable; the workspace is ``tmp_path/workspace``."""
    monkeypatch.setenv("TRACKING_LOCAL_FILE", str(tmp_path / "no-such-local.py"))
    for field in FIELDS:
        monkeypatch.delenv(field.variable, raising=False)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    return tmp_path
