"""Train a network: ``python ltr/run_training.py <module> <name>`` runs
``ltr/train_settings/<module>/<name>.py``'s ``run(settings)``, for example
``python ltr/run_training.py bbreg atom_default``.

Several GPUs (or CPU processes, with the gloo backend): ``torchrun --nproc_per_node N
ltr/run_training.py bbreg atom_default``. Each rank draws its own samples; ``batch_size`` in the
settings is per rank, so the effective batch is N times larger. Only rank 0 logs to files and
writes checkpoints.
"""

import argparse
import importlib
import logging
import os
import sys

import torch

from admin.environment import EnvironmentPathError, env_settings
from admin.logging_setup import setup_logging
from ltr.settings import TrainSettings, UnknownSettingError, seed_everything

logger = logging.getLogger("ltr.run_training")


def run_training(module: str, name: str, *, seed: int = 0, resume: bool = False, device: str | None = None,
                 amp: str | None = None, settings_overrides: dict | None = None) -> TrainSettings:
    """Run an experiment in this process (initialising torch.distributed when launched by
    torchrun). Returns the settings the experiment ran with."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and not torch.distributed.is_initialized():
        use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        if use_cuda:
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    try:
        experiment = importlib.import_module(f"ltr.train_settings.{module}.{name}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("ltr.train_settings"):
            raise SystemExit(f"no experiment ltr/train_settings/{module}/{name}.py") from error
        raise
    settings = TrainSettings(module_name=module, script_name=name, seed=seed, device=device, amp=amp,
                             resume=resume, rank=rank, world_size=world_size, local_rank=local_rank)
    for key, value in (settings_overrides or {}).items():
        setattr(settings, key, value)
    seed_everything(seed)
    log_dir = settings.run_dir if settings.is_main_process else None
    setup_logging(log_dir, name="train", level=logging.INFO if settings.is_main_process else logging.WARNING)
    logger.info("training %s/%s (seed %d, %d process(es))", module, name, seed, world_size)
    try:
        experiment.run(settings)
        if world_size > 1:
            # Leave together: a rank tearing down its connections while another still uses
            # them aborts the process (gloo).
            torch.distributed.barrier()
    finally:
        if world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ltr/run_training.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train_module", help="folder in ltr/train_settings, e.g. bbreg")
    parser.add_argument("train_name", help="experiment in that folder, e.g. atom_default")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--amp", choices=("bfloat16", "float16"), default=None, help="mixed precision")
    args = parser.parse_args(argv)
    env_settings()  # a broken admin/local.py is reported before anything starts
    try:
        run_training(args.train_module, args.train_name, seed=args.seed, resume=args.resume, device=args.device,
                     amp=args.amp)
    except UnknownSettingError as error:  # a misspelt or unread setting in the experiment: one line
        raise SystemExit(str(error)) from None
    except EnvironmentPathError as error:  # a dataset root not set, missing, empty or a file: one line
        raise SystemExit(f"Error: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
