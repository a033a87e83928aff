"""Rules of DESIGN.md that a grep can check, over every Python file the repository tracks."""

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("admin", "external", "ltr", "pytracking")


def python_files(*roots: str) -> list[Path]:
    files = [REPO / p for p in subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True,
                                               text=True, check=True).stdout.split()]
    files = [f for f in files if f.exists()]
    if roots:
        files = [f for f in files if f.relative_to(REPO).parts[0] in roots]
    assert files
    return files


def library_files() -> list[Path]:
    """Package code other than entry scripts (run_*.py, __main__.py), which may print."""
    return [f for f in python_files(*PACKAGES)
            if not (f.name.startswith("run_") or f.name == "__main__.py")]


def offenders(files: list[Path], pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [f"{f.relative_to(REPO)}:{n}" for f in files
            for n, line in enumerate(f.read_text().splitlines(), 1) if regex.search(line)]


def test_no_sys_path_manipulation():
    assert not offenders(python_files(), r"sys\.path\.(append|insert)|sys\.path\s*=")


def test_no_bare_except():
    assert not offenders(python_files(), r"^\s*except\s*:")


def test_no_print_in_library_code():
    assert not offenders(library_files(), r"^\s*print\(")


def test_flags_are_store_true():
    assert not offenders(python_files(), r"\btype\s*=\s*bool")


@pytest.mark.parametrize("package", ["admin", "external"])
def test_base_packages_import_nothing_of_ours(package):
    others = "|".join(p for p in PACKAGES if p != package)
    assert not offenders(python_files(package), rf"^\s*(from|import)\s+({others})\b")


def test_ltr_does_not_import_pytracking():
    assert not offenders(python_files("ltr"), r"^\s*(from|import)\s+pytracking\b")
