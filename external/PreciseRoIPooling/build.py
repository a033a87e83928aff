"""Build the compiled Precise RoI Pooling op (install.sh and tracking-build-ops run this):

    python -m external.PreciseRoIPooling.build [--force]

The CPU kernels always; the CUDA kernels too when PyTorch is a CUDA build and a CUDA toolkit is
found (FORCE_CUDA=1 insists, FORCE_CUDA=0 builds the CPU kernels only). TORCH_CUDA_ARCH_LIST
chooses the GPU architectures (default "8.0;9.0+PTX"), CUDA_HOME (or CUDA_PATH) the toolkit.
Nothing is rebuilt when the sources, torch and these settings are unchanged. Exits non-zero on
failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from external.extension_build import build_extension

HERE = Path(__file__).resolve().parent
DEFAULT_ARCH_LIST = "8.0;9.0+PTX"

logger = logging.getLogger(__name__)


def _is_toolkit(path: str | None) -> bool:
    return bool(path) and os.path.isfile(os.path.join(path, "bin", "nvcc")) and \
        os.path.isfile(os.path.join(path, "include", "cuda_runtime.h"))


def find_cuda_home() -> str | None:
    """CUDA_HOME or CUDA_PATH when set, else the toolkit holding the nvcc on PATH, else
    /usr/local/cuda. Unlike torch's guess (the parent of nvcc's folder), it checks that the
    folder holds the toolkit: an nvcc wrapper script in /usr/local/bin would give /usr/local."""
    for variable in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(variable):
            return os.environ[variable]
    candidates = []
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates += [os.path.dirname(os.path.dirname(p)) for p in (nvcc, os.path.realpath(nvcc))]
    candidates.append("/usr/local/cuda")
    return next((c for c in candidates if _is_toolkit(c)), None)


def build(force: bool = False) -> int:
    cuda_home = find_cuda_home()
    if cuda_home:
        # Before torch.utils.cpp_extension reads it.
        os.environ["CUDA_HOME"] = cuda_home

    import torch
    import torch.utils.cpp_extension as cpp_extension

    force_cuda = os.environ.get("FORCE_CUDA", "")
    with_cuda = force_cuda == "1" or (force_cuda != "0" and torch.version.cuda is not None and cuda_home is not None)
    if with_cuda and cuda_home is None:
        logger.error("FORCE_CUDA=1 but no CUDA toolkit was found: set CUDA_HOME")
        return 1
    sources = ["csrc/bindings.cpp", "csrc/prroi_pool_cpu.cpp"]
    settings = []
    if with_cuda:
        arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST") or DEFAULT_ARCH_LIST
        os.environ["TORCH_CUDA_ARCH_LIST"] = arch_list
        cpp_extension.CUDA_HOME = cuda_home  # in case it was imported before CUDA_HOME was set
        sources.append("csrc/prroi_pool_cuda.cu")
        settings = [arch_list, cuda_home]
        description = f"CPU+CUDA (archs {arch_list}, toolkit {cuda_home})"
    else:
        why = ("FORCE_CUDA=0" if force_cuda == "0" else "torch is a CPU-only build" if torch.version.cuda is None
               else "no CUDA toolkit (nvcc) found")
        description = f"CPU only ({why})"
    return build_extension(package_dir=HERE, sources=sources, description=description, force=force,
                           cuda=with_cuda, define_macros=[("WITH_CUDA", None)] if with_cuda else [],
                           settings=settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return build(force=args.force)


if __name__ == "__main__":
    sys.exit(main())
