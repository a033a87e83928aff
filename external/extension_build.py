"""Building the compiled extensions of ``external/``: install.sh runs it, and so can a user of an
installed copy (``pip install .``, a wheel), which ships the sources:

    tracking-build-ops [OP ...] [--force]     # or: python -m external.extension_build ...

Each op's ``build.py`` describes its sources and flags and calls :func:`build_extension`, which
skips the build when a stamp (a hash of the sources, the build description, torch and Python)
matches and the module is there, builds with torch's cpp_extension (ninja when available)
otherwise, checks that the new module loads in a fresh interpreter, and only then writes the
stamp. Failures are logged and return a non-zero exit code. The module goes beside its sources
in a checkout and into a per-user cache in an installed copy (see :mod:`external.compiled`).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from external.compiled import (ROOT, cache_root, fingerprint, fingerprint_files, is_source_checkout,
                               module_file_name, output_dir)

CXX_FLAGS = ["-O3", "-g0", "-fopenmp"]  # at::parallel_for runs serially without OpenMP
LINK_FLAGS = ["-fopenmp"]

logger = logging.getLogger(__name__)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT)) if is_source_checkout() else str(path)
    except ValueError:
        return str(path)


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
    """Build ``<package>._C`` from ``sources`` (paths relative to ``package_dir``) into
    :func:`external.compiled.output_dir`.

    ``cuda`` builds a CUDAExtension (nvcc for .cu files); ``settings`` are further strings
    that make the stamp differ (CUDA architectures, toolkit). Returns 0 on success."""
    import torch

    package = ".".join(package_dir.relative_to(ROOT).parts)
    name = f"{package}._C"
    destination = output_dir(package)
    target = destination / module_file_name()
    stamp_file = destination / ".build-stamp"
    files = fingerprint_files(package_dir)
    stamp = fingerprint(files, [torch.__version__, description, str(cuda), str(libraries)] + (settings or []))
    if not force and target.is_file() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        logger.info("%s up to date: %s [%s]", name, _shown(target), description)
        return 0
    # Compiler output stays out of site-packages in an installed copy.
    build_temp = (ROOT / "build" / "extensions" if is_source_checkout() else cache_root() / "build") / package
    try:
        destination.mkdir(parents=True, exist_ok=True)
        build_temp.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.error("%s build FAILED: cannot create %s (%s)", name, error.filename, error.strerror)
        return 1

    logger.info("building %s: %s", name, description)
    start = time.monotonic()
    # Unlink (never overwrite) the old module: this process may have it mapped.
    stamp_file.unlink(missing_ok=True)
    target.unlink(missing_ok=True)
    built = build_temp.joinpath("lib", *package.split("."), module_file_name())
    built.unlink(missing_ok=True)

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
    os.chdir(ROOT)  # sources are given relative to it (object files mirror those paths)
    try:
        distribution = Distribution({
            "name": f"{package}-extension",
            "ext_modules": [extension],
            "cmdclass": {"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=use_ninja)},
            "script_name": str((package_dir / "build.py").relative_to(ROOT)),
        })
        command = distribution.get_command_obj("build_ext")
        command.force = 1  # the stamp changed: recompile (setuptools ignores header changes)
        command.build_temp = str(build_temp / "temp")
        command.build_lib = str(build_temp / "lib")
        distribution.run_command("build_ext")
    except (Exception, SystemExit) as error:  # distutils reports compile errors as SystemExit
        logger.error("%s build FAILED: %s", name, error)
        return 1
    finally:
        os.chdir(previous)

    if not built.is_file():
        logger.error("%s build FAILED: %s was not produced", name, built)
        return 1
    os.replace(built, target)  # a new inode: a process that has the old module mapped keeps it
    try:
        check_loads(name, target)
    except RuntimeError as error:
        target.unlink(missing_ok=True)
        logger.error("%s build FAILED: %s", name, error)
        return 1
    temporary = stamp_file.with_suffix(".tmp")
    temporary.write_text(stamp + "\n")
    os.replace(temporary, stamp_file)
    logger.info("built %s [%s] in %.0f s", _shown(target), description, time.monotonic() - start)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Build the ops of ``external/`` (all, or those named); non-zero when one failed."""
    # Imported here: each op's build module imports this one.
    from external.jpeg_region import build as jpeg_region_build
    from external.PreciseRoIPooling import build as prroi_build

    builds = {"PreciseRoIPooling": prroi_build.build, "jpeg_region": jpeg_region_build.build}
    parser = argparse.ArgumentParser(
        description="Build the compiled ops of the tracking toolkit (Precise RoI Pooling, the JPEG region "
                    f"decoder): in a checkout beside their sources, in an installed copy into {cache_root()}.")
    parser.add_argument("ops", nargs="*", metavar="OP", help=f"the ops to build: {', '.join(builds)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    unknown = [op for op in args.ops if op not in builds]
    if unknown:  # (argparse's choices reject an empty list for nargs="*")
        parser.error(f"unknown op {', '.join(unknown)}: choose from {', '.join(builds)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    failed = [op for op in (args.ops or builds) if builds[op](force=args.force)]
    if failed:
        logger.error("build failed: %s (see above)", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
