"""Importing an op's compiled extension (``<package>._C``) where it is built.

In a source checkout (the repository, installed editable by install.sh) the module is built
beside its sources. In an installed copy (``pip install .`` or a wheel) site-packages may be
read-only and is not ours to litter (``pip uninstall`` would leave the module behind), so the
module is built into a per-user cache, ``$XDG_CACHE_HOME/tracking-toolkit/extensions`` (default
``~/.cache/...``), in a folder named by a hash of the op's sources, torch and Python: a new
release, torch or interpreter never loads a module built for another.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import torch  # (also loads the libraries the extensions link against)

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_BUILD_COMMAND = "tracking-build-ops"


def is_source_checkout() -> bool:
    """Whether the packages run from the repository rather than from an installed copy."""
    project = ROOT / "pyproject.toml"
    return project.is_file() and 'name = "tracking-toolkit"' in project.read_text()


def build_command(package: str) -> str:
    """How a user builds ``package``'s extension, for messages."""
    single = f"python -m {package}.build"
    if is_source_checkout():
        return f"./install.sh, or {single}"
    return f"{CONSOLE_BUILD_COMMAND}, or {single}"


def module_file_name() -> str:
    return "_C" + sysconfig.get_config_var("EXT_SUFFIX")


def fingerprint_files(package_dir: Path) -> list[Path]:
    """The files a build of the op in ``package_dir`` depends on."""
    files = [path for path in (package_dir / "csrc").iterdir() if path.is_file()]
    return sorted(files + [package_dir / "build.py", Path(__file__).with_name("extension_build.py")])


def fingerprint(files: list[Path], settings: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join(settings + [sys.version, sysconfig.get_config_var("EXT_SUFFIX")]).encode())
    return digest.hexdigest()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "tracking-toolkit" / "extensions"


def output_dir(package: str) -> Path:
    """The folder that holds (or will hold) ``package``'s built ``_C`` module and its stamp."""
    package_dir = ROOT.joinpath(*package.split("."))
    if is_source_checkout():
        return package_dir
    key = fingerprint(fingerprint_files(package_dir), [torch.__version__])[:16]
    return cache_root() / f"{package}-{key}"


def load_compiled(package: str, what: str) -> tuple[ModuleType | None, str]:
    """The extension module, or None and why not ("<what> is not built", or does not load)."""
    name = f"{package}._C"
    try:
        if is_source_checkout():
            if importlib.util.find_spec(name) is None:
                return None, f"{what} is not built"
            return importlib.import_module(name), ""
        path = output_dir(package) / module_file_name()
        if not path.is_file():
            return None, f"{what} is not built"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
        return module, ""
    except ImportError as error:  # built for another torch or Python
        return None, f"{what} does not load ({error}); rebuild it"
    except OSError as error:  # an installed copy without its sources (csrc/)
        return None, f"{what} cannot be located ({error})"
