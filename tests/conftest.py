"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from admin.environment import FIELDS


@pytest.fixture
def isolated_workspace(monkeypatch, tmp_path) -> Path:
    """An environment that no admin/local.py or TRACKING_* field variable of the user's leaks
    into: no local file, every field at its default, the workspace ``tmp_path/workspace``
    (returned)."""
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    for field in FIELDS:
        monkeypatch.delenv(field.variable, raising=False)
    workspace = tmp_path / "workspace"
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(workspace))
    return workspace
