"""Importing an op's compiled extension (``<package>._C``) where it is built."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

import torch  # noqa: F401  (loads the libraries the extensions link against)


def load_compiled(package: str, what: str) -> tuple[ModuleType | None, str]:
    """The extension module, or None and why not ("<what> is not built", or does not load)."""
    name = f"{package}._C"
    if importlib.util.find_spec(name) is None:
        return None, f"{what} is not built"
    try:
        return importlib.import_module(name), ""
    except ImportError as error:  # built for another torch or Python
        return None, f"{what} does not load ({error}); rebuild it"
