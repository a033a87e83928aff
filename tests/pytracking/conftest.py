"""Every pytracking test runs in an isolated environment (see ``isolated_workspace``);
``clean_env`` is its ``tmp_path``, the workspace being ``tmp_path/workspace``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_env(isolated_workspace, tmp_path) -> Path:
    return tmp_path
