"""Building the compiled extensions of ``external/`` in place, at install time.

Each op's ``build.py`` describes its sources and flags and calls :func:`build_extension`, which
skips the build when a stamp (a hash of the sources, the build description, torch and Python)
matches and the module is there, builds with torch's cpp_extension (ninja when available)
otherwise, checks that the new module loads in a fresh interpreter, and only then writes the
stamp. Failures are logged and return a non-zero exit code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_TEMP = ROOT / "build" / "extensions"
CXX_FLAGS = ["-O3", "-g0", "-fopenmp"]  # at::parallel_for runs serially without OpenMP
LINK_FLAGS = ["-fopenmp"]

logger = logging.getLogger(__name__)


def module_path(package_dir: Path) -> Path:
    return package_dir / ("_C" + sysconfig.get_config_var("EXT_SUFFIX"))


def fingerprint(files: list[Path], settings: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join(settings + [sys.version, sysconfig.get_config_var("EXT_SUFFIX")]).encode())
    return digest.hexdigest()


def check_loads(name: str, path: Path) -> None:
    """Load the built module in a fresh interpreter (this one may hold the old one)."""
    code = ("import sys, torch, importlib.util as u\n"
            "s = u.spec_from_file_location(sys.argv[1], sys.argv[2])\n"
            "m = u.module_from_spec(s); s.loader.exec_module(m)\n")
    result = subprocess.run([sys.executable, "-c", code, name, str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the built module does not load:\n{result.stderr.strip()}")


def build_extension(*, package_dir: Path, sources: list[str], description: str, force: bool = False,
                    cuda: bool = False, define_macros: list | None = None, libraries: list[str] | None = None,
                    nvcc_flags: list[str] | None = None, settings: list[str] | None = None) -> int:
    """Build ``<package>._C`` from ``sources`` (paths relative to ``package_dir``) in place.

    ``cuda`` builds a CUDAExtension (nvcc for .cu files); ``settings`` are further strings
    that make the stamp differ (CUDA architectures, toolkit). Returns 0 on success."""
    import torch

    package = ".".join(package_dir.relative_to(ROOT).parts)
    name = f"{package}._C"
    target = module_path(package_dir)
    stamp_file = package_dir / ".build-stamp"
    files = [path for path in (package_dir / "csrc").iterdir() if path.is_file()]
    files += [package_dir / "build.py", Path(__file__)]
    stamp = fingerprint(files, [torch.__version__, description, str(cuda), str(libraries)] + (settings or []))
    if not force and target.is_file() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        logger.info("%s up to date: %s [%s]", name, target.relative_to(ROOT), description)
        return 0

    logger.info("building %s: %s", name, description)
    start = time.monotonic()
    # Unlink (never overwrite) the old module: this process may have it mapped.
    stamp_file.unlink(missing_ok=True)
    target.unlink(missing_ok=True)

    from setuptools import Distribution

    import torch.utils.cpp_extension as cpp_extension

    kwargs = dict(name=name, sources=[str((package_dir / s).relative_to(ROOT)) for s in sources],
                  include_dirs=[str(package_dir / "csrc")], extra_link_args=list(LINK_FLAGS),
                  define_macros=define_macros or [], libraries=libraries or [])
    if cuda:
        extension = cpp_extension.CUDAExtension(
            extra_compile_args={"cxx": list(CXX_FLAGS), "nvcc": ["-O3"] + (nvcc_flags or [])}, **kwargs)
    else:
        extension = cpp_extension.CppExtension(extra_compile_args={"cxx": list(CXX_FLAGS)}, **kwargs)
    use_ninja = cpp_extension.is_ninja_available()
    logger.info("  compiler driver: %s", "ninja" if use_ninja else "setuptools (sequential; ninja not found)")

    previous = os.getcwd()
    os.chdir(ROOT)  # the in-place output path is derived from the module name
    try:
        distribution = Distribution({
            "name": f"{package}-extension",
            "ext_modules": [extension],
            "cmdclass": {"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=use_ninja)},
            "script_name": str((package_dir / "build.py").relative_to(ROOT)),
        })
        command = distribution.get_command_obj("build_ext")
        command.inplace = 1
        command.force = 1  # the stamp changed: recompile (setuptools ignores header changes)
        command.build_temp = str(BUILD_TEMP / package / "temp")
        command.build_lib = str(BUILD_TEMP / package / "lib")
        distribution.run_command("build_ext")
    except (Exception, SystemExit) as error:  # distutils reports compile errors as SystemExit
        logger.error("%s build FAILED: %s", name, error)
        return 1
    finally:
        os.chdir(previous)

    if not target.is_file():
        logger.error("%s build FAILED: %s was not produced", name, target)
        return 1
    try:
        check_loads(name, target)
    except RuntimeError as error:
        target.unlink(missing_ok=True)
        logger.error("%s build FAILED: %s", name, error)
        return 1
    temporary = stamp_file.with_suffix(".tmp")
    temporary.write_text(stamp + "\n")
    os.replace(temporary, stamp_file)
    logger.info("built %s [%s] in %.0f s", target.relative_to(ROOT), description, time.monotonic() - start)
    return 0
