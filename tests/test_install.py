"""install.sh on a machine where it already ran: nothing changes."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(Path(sys.prefix).resolve() != VENV.resolve(),
                    reason="runs only inside the checkout's .venv that install.sh made")
def test_second_run_changes_nothing():
    local = REPO / "admin" / "local.py"
    stamp = VENV / ".tracking-install-stamp"
    before = (digest(local), digest(stamp), stamp.stat().st_mtime_ns)
    result = subprocess.run(["bash", str(REPO / "install.sh")], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "PYTHON"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout and "kept the existing" in result.stdout
    assert (digest(local), digest(stamp), stamp.stat().st_mtime_ns) == before


def test_failing_step_is_named(tmp_path):
    result = subprocess.run(["bash", str(REPO / "install.sh")], capture_output=True, text=True,
                            env={**os.environ, "PYTHON": str(tmp_path / "no-python")})
    assert result.returncode != 0
    assert "FAILED at step: Python interpreter" in result.stderr
