"""Train a network: ``python ltr/run_training.py <module> <name>`` runs
``ltr/train_settings/<module>/<name>.py``'s ``run(settings)``, for example
``python ltr/run_training.py bbreg atom_default``.

    --set epochs=1 train_samples_per_epoch=32   override settings (they win over the experiment)
    --resume                                    continue from the newest readable checkpoint
    --checkpoint PATH                           continue from this checkpoint
    --run-name NAME                             a new run beside the default one (its own folders)

A new run refuses a folder that already holds checkpoints: continue it with --resume, or start
another with --run-name. Ctrl-C stops training, naming the checkpoint kept.

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
from pathlib import Path

import torch

from admin.environment import env_settings
from admin.logging_setup import setup_logging
from ltr.models.loading import CheckpointError, CheckpointNotFoundError
from ltr.settings import OverrideError, TrainSettings, UnknownSettingError, parse_overrides, seed_everything
from ltr.trainers import TrainingError, TrainingInterrupted

logger = logging.getLogger("ltr.run_training")

# Exit status of a run stopped by Ctrl-C, as a shell reports a process ended by SIGINT.
INTERRUPTED = 130
# What a user can fix from the message alone: reported as one line, without a traceback. The
# toolkit's configuration errors are ValueErrors (settings, overrides, normalisation, amp),
# its path errors OSErrors naming the path (environment, checkpoints, unwritable folders).
USER_ERRORS = (TrainingError, CheckpointError, CheckpointNotFoundError, UnknownSettingError, OverrideError,
               ValueError, OSError)


def run_training(module: str, name: str, *, seed: int = 0, resume: bool = False, device: str | None = None,
                 amp: str | None = None, settings_overrides: dict | None = None, run_name: str | None = None,
                 checkpoint: str | os.PathLike | None = None) -> TrainSettings:
    """Run an experiment in this process (initialising torch.distributed when launched by
    torchrun). ``settings_overrides`` ({name: value}) win over what the experiment sets;
    ``checkpoint`` is the one to resume from. Returns the settings the experiment ran with."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    try:
        experiment = importlib.import_module(f"ltr.train_settings.{module}.{name}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("ltr.train_settings"):
            raise SystemExit(f"Error: no experiment ltr/train_settings/{module}/{name}.py") from error
        raise
    # Checked before anything starts: a misspelt override fails before the experiment runs.
    settings = TrainSettings(module_name=module, script_name=name, seed=seed, device=device, amp=amp,
                             resume=resume or checkpoint is not None, rank=rank, world_size=world_size,
                             local_rank=local_rank, run_name=run_name,
                             resume_checkpoint=None if checkpoint is None else str(Path(checkpoint).resolve()),
                             overrides=settings_overrides)
    if world_size > 1 and not torch.distributed.is_initialized():
        use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        if use_cuda:
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    seed_everything(seed)
    log_dir = settings.run_dir if settings.is_main_process else None
    setup_logging(log_dir, name="train", level=logging.INFO if settings.is_main_process else logging.WARNING)
    logger.info("training %s (seed %d, %d process(es))", settings.project_path, seed, world_size)
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


def one_line(error: BaseException) -> str:
    """The error's message on one line (a wrapped library message may hold several)."""
    return "; ".join(part.strip() for part in str(error).splitlines() if part.strip()) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ltr/run_training.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train_module", help="folder in ltr/train_settings, e.g. bbreg")
    parser.add_argument("train_name", help="experiment in that folder, e.g. atom_default")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest readable checkpoint")
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="continue from this checkpoint (implies --resume)")
    parser.add_argument("--run-name", metavar="NAME", default=None,
                        help="a new run in folders of its own (<name>-NAME), beside the experiment's default run")
    parser.add_argument("--set", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                        help="override settings, e.g. --set epochs=1 train_samples_per_epoch=32 (Python literals, "
                             "or plain words for strings); they win over the experiment")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--amp", choices=("bfloat16", "float16"), default=None, help="mixed precision")
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.set)
        env_settings()  # a broken admin/local.py is reported before anything starts
        run_training(args.train_module, args.train_name, seed=args.seed, resume=args.resume, device=args.device,
                     amp=args.amp, settings_overrides=overrides, run_name=args.run_name, checkpoint=args.checkpoint)
    except TrainingInterrupted as stop:
        print(f"Stopped: {one_line(stop)}", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("Stopped: interrupted before training started; no checkpoint was written", file=sys.stderr)
        return INTERRUPTED
    except USER_ERRORS as error:
        raise SystemExit(f"Error: {one_line(error)}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
