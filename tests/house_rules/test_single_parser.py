"""House rule (issue 13): annotation, label and result files are parsed in one place,
ltr/data/box_files.py. A second parser elsewhere in the packages fails this test, naming its
file and line: a separator regex over box rows, numpy's text loaders, or splitting lines at
commas or tabs."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("admin", "external", "ltr", "pytracking", "benchmarks")
THE_PARSER = Path("ltr/data/box_files.py")

# Each names what it catches; a line matching any of them is a second parser.
PATTERNS = {
    # re.compile(r"[,\s]+"), re.split(r"[\t,]", line): a character class of separators.
    "separator regex": re.compile(r"""\bre\.(compile|split)\(\s*r?["']\[[^\]"']*(,|\\s|\\t)"""),
    "numpy text loader": re.compile(r"\b(np|numpy)\.(loadtxt|genfromtxt|fromstring)\("),
    # line.split(","), line.split('\t'), line.strip().split(" , ")
    "split at commas or tabs": re.compile(r"""\.split\(\s*r?["']\s*(,|\\t)\s*["']"""),
}


def second_parsers(text: str, name: str) -> list[str]:
    """``name:line (what)`` for every line of ``text`` that parses box rows by itself.
    Comments are ignored (they may describe a format)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for what, pattern in PATTERNS.items():
            if pattern.search(code):
                found.append(f"{name}:{number} ({what})")
    return found


def package_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    return [Path(p) for p in listed if Path(p).parts[0] in PACKAGES and Path(p) != THE_PARSER
            and (REPO / p).exists()]


def test_detector_flags_a_second_parser():
    snippet = '\n'.join([
        'import re',
        '_SEPARATORS = re.compile(r"[,\\s]+")',
        'rows = np.loadtxt(path, delimiter=",")',
        'values = [float(v) for v in line.split(",")]',
        "cells = line.strip().split('\\t')",
    ])
    assert second_parsers(snippet, "x.py") == ["x.py:2 (separator regex)", "x.py:3 (numpy text loader)",
                                               "x.py:4 (split at commas or tabs)", "x.py:5 (split at commas or tabs)"]


def test_detector_leaves_other_code_alone():
    snippet = '\n'.join([
        'from ltr.data.box_files import read_boxes',
        'boxes = read_boxes(path, field="otb_path")',
        'names = [line.strip() for line in text.splitlines()]',
        'key, colon, value = line.partition(":")',
        'times = [float(v) for v in text.split()]  # one number per line, not box rows',
        'name = record["name"].rsplit("-", 1)[0]',
        'pattern = re.compile(r"^\\d{8}\\.jpg$")',
        '# rows were once read with np.loadtxt(path)',
    ])
    assert second_parsers(snippet, "y.py") == []


def test_box_files_are_parsed_in_one_place():
    offenders = [hit for path in package_files() for hit in second_parsers((REPO / path).read_text(), str(path))]
    assert not offenders, (f"parse annotation, label and result files with {THE_PARSER} "
                           f"(read_boxes, read_labels, parse_rows, read_mot_rows), not here: {offenders}")
