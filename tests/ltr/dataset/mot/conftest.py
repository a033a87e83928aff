import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("mot_trees", Path(__file__).with_name("mot_trees.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
sys.modules.setdefault("mot_trees", _module)


@pytest.fixture
def trees():
    return _module
