"""Build the compiled Precise RoI Pooling op in place.

Run from anywhere (it works relative to the repository root)::

    python -m external.PreciseRoIPooling.build [--force]

It builds the extension module ``external.PreciseRoIPooling._C`` next to this file, from
``csrc/``: the CPU kernels always, and the CUDA kernels when PyTorch is a CUDA build and nvcc
is found (or when FORCE_CUDA=1). TORCH_CUDA_ARCH_LIST chooses the GPU architectures (default
"8.0;9.0+PTX"); CUDA_HOME (or CUDA_PATH) the toolkit. The build is skipped when
``.build-stamp`` matches a hash of the sources, this script, the torch version and the CUDA
settings, and the module is there; ``--force`` rebuilds anyway. Exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CSRC = HERE / "csrc"
STAMP = HERE / ".build-stamp"
EXT_NAME = "external.PreciseRoIPooling._C"
BUILD_TEMP = ROOT / "build" / "prroi_pool"
DEFAULT_ARCH_LIST = "8.0;9.0+PTX"
logger = logging.getLogger(__name__)

CXX_FLAGS = ["-O3", "-g0", "-fopenmp"]  # at::parallel_for runs serially without OpenMP
NVCC_FLAGS = ["-O3"]
LINK_FLAGS = ["-fopenmp"]  # resolves to the libgomp.so.1 that torch has loaded


def _is_toolkit(path: str | None) -> bool:
    return bool(path) and os.path.isfile(os.path.join(path, "bin", "nvcc")) and \
        os.path.isfile(os.path.join(path, "include", "cuda_runtime.h"))


def find_cuda_home() -> str | None:
    """The CUDA toolkit: CUDA_HOME or CUDA_PATH when set, else the one holding the nvcc on
    PATH, else /usr/local/cuda. Unlike torch's guess (the parent of nvcc's folder), it
    checks that the folder really holds the toolkit (an nvcc wrapper script in
    /usr/local/bin would otherwise give /usr/local)."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    candidates = []
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates += [os.path.dirname(os.path.dirname(p)) for p in (nvcc, os.path.realpath(nvcc))]
    candidates.append("/usr/local/cuda")
    for candidate in candidates:
        if _is_toolkit(candidate):
            return candidate
    return None


def module_path() -> Path:
    return HERE / ("_C" + sysconfig.get_config_var("EXT_SUFFIX"))


def sources(with_cuda: bool) -> list[str]:
    names = ["bindings.cpp", "prroi_pool_cpu.cpp"] + (["prroi_pool_cuda.cu"] if with_cuda else [])
    return [str((CSRC / name).relative_to(ROOT)) for name in names]


def fingerprint(torch_version: str, with_cuda: bool, arch_list: str, cuda_home: str | None) -> str:
    digest = hashlib.sha256()
    for path in sorted(CSRC.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())
    settings = [torch_version, sys.version, sysconfig.get_config_var("EXT_SUFFIX"),
                f"cuda={with_cuda}", arch_list if with_cuda else "", cuda_home if with_cuda else ""]
    digest.update("\0".join(settings).encode())
    return digest.hexdigest()


def check_loads(path: Path) -> str:
    """Load the built module in a fresh interpreter (this one may hold the old one)."""
    code = ("import sys, torch, importlib.util as u\n"
            f"s = u.spec_from_file_location({EXT_NAME!r}, sys.argv[1])\n"
            "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
            "print('with_cuda =', m.with_cuda())\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the built module does not load:\n{result.stderr.strip()}")
    return result.stdout.strip()


def build(force: bool = False) -> int:
    cuda_home = find_cuda_home()
    if cuda_home:
        # Before torch.utils.cpp_extension reads it (and patched below in case it already has).
        os.environ["CUDA_HOME"] = cuda_home

    import torch

    force_cuda = os.environ.get("FORCE_CUDA", "") == "1"
    with_cuda = force_cuda or (torch.version.cuda is not None and cuda_home is not None)
    if with_cuda and cuda_home is None:
        logger.error("FORCE_CUDA=1 but no CUDA toolkit found (set CUDA_HOME)")
        return 1
    arch_list = ""
    if with_cuda:
        arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST") or DEFAULT_ARCH_LIST
        os.environ["TORCH_CUDA_ARCH_LIST"] = arch_list

    what = f"CPU+CUDA (archs {arch_list}, toolkit {cuda_home})" if with_cuda else "CPU only"
    if not with_cuda:
        why = "torch is a CPU-only build" if torch.version.cuda is None else "no CUDA toolkit (nvcc) found"
        what += f" ({why})"
    target = module_path()
    stamp = fingerprint(torch.__version__, with_cuda, arch_list, cuda_home)
    if not force and target.is_file() and STAMP.is_file() and STAMP.read_text().strip() == stamp:
        logger.info("PrRoIPool extension up to date: %s [%s]", target.relative_to(ROOT), what)
        return 0

    logger.info("Building PrRoIPool extension %s: %s", EXT_NAME, what)
    start = time.monotonic()
    # Unlink (never overwrite) the old module: this process may have it mapped.
    STAMP.unlink(missing_ok=True)
    target.unlink(missing_ok=True)

    from setuptools import Distribution

    import torch.utils.cpp_extension as cpp_extension

    if with_cuda:
        cpp_extension.CUDA_HOME = cuda_home  # in case it was imported before CUDA_HOME was set

    kwargs = dict(
        name=EXT_NAME,
        sources=sources(with_cuda),
        include_dirs=[str(CSRC)],
        extra_compile_args={"cxx": list(CXX_FLAGS), "nvcc": list(NVCC_FLAGS)},
        extra_link_args=list(LINK_FLAGS),
    )
    if with_cuda:
        extension = cpp_extension.CUDAExtension(define_macros=[("WITH_CUDA", None)], **kwargs)
    else:
        kwargs["extra_compile_args"] = {"cxx": list(CXX_FLAGS)}
        extension = cpp_extension.CppExtension(**kwargs)
    use_ninja = cpp_extension.is_ninja_available()
    logger.info("  compiler driver: %s", "ninja" if use_ninja else "setuptools (sequential; ninja not found)")

    previous = os.getcwd()
    os.chdir(ROOT)  # the in-place output path is derived from the module name
    try:
        dist = Distribution({
            "name": "prroi_pool_extension",
            "ext_modules": [extension],
            "cmdclass": {"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=use_ninja)},
            "script_name": "external/PreciseRoIPooling/build.py",
        })
        command = dist.get_command_obj("build_ext")
        command.inplace = 1
        command.force = 1  # the stamp changed: recompile (setuptools ignores header changes)
        command.build_temp = str(BUILD_TEMP / "temp")
        command.build_lib = str(BUILD_TEMP / "lib")
        dist.run_command("build_ext")
    except (Exception, SystemExit) as error:  # distutils reports compile errors as SystemExit
        logger.error("PrRoIPool extension build FAILED: %s", error)
        return 1
    finally:
        os.chdir(previous)

    if not target.is_file():
        logger.error("PrRoIPool extension build FAILED: %s was not produced", target)
        return 1
    try:
        loaded = check_loads(target)
    except RuntimeError as error:
        target.unlink(missing_ok=True)
        logger.error("PrRoIPool extension build FAILED: %s", error)
        return 1
    temporary = STAMP.with_suffix(".tmp")
    temporary.write_text(stamp + "\n")
    os.replace(temporary, STAMP)
    logger.info("Built %s [%s] in %.0f s (%s)", target.relative_to(ROOT), what, time.monotonic() - start, loaded)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return build(force=args.force)


if __name__ == "__main__":
    sys.exit(main())
