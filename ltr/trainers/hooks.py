"""Epoch hooks that the trainer runs after training epochs (see :class:`ltr.trainers.schedules.EpochHook`).

:class:`CommandHook` runs an evaluation as a separate process: ``ltr`` cannot import ``pytracking``
(where trackers and tracking metrics live), so a recipe that wants tracking figures while it
trains runs ``python -m pytracking.evaluation.checkpoint_eval ...`` on the epoch's network and
reads the figures it writes.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ltr.models.loading import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, save_checkpoint
from ltr.processes import kill_with_parent

if TYPE_CHECKING:
    from ltr.trainers.ltr_trainer import LTRTrainer

logger = logging.getLogger(__name__)


def export_network(trainer: "LTRTrainer", path: Path) -> Path:
    """Write the trainer's network as a checkpoint that :func:`ltr.models.loading.load_network`
    reads (weights, constructor, input normalisation, epoch), atomically."""
    net = trainer.actor.net
    net = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
    return save_checkpoint(path, {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "epoch": trainer.epoch,
        "net_type": type(net).__name__, "net": net.state_dict(), "constructor": getattr(net, "constructor", None),
        "input_normalization": trainer.input_normalization})


class CommandHook:
    """Runs ``command`` after every ``epoch_interval`` training epochs (main process only) and
    returns the numbers of the JSON file it writes (its ``figures`` dict when it has one, else
    its top-level numbers).

    ``command`` is a list of arguments in which ``{network}`` becomes the path of this epoch's
    network (written first, to ``<checkpoint_dir>/<name>/<Net>_ep<NNNN>.pth.tar``, removed after the
    command: the trainer's checkpoint keeps the same weights), ``{json}`` the
    path of the JSON file to write and ``{epoch}`` the epoch. A command that fails, runs past
    ``timeout`` seconds or writes no readable JSON costs one warning line; that epoch has no
    figures and training goes on. Ctrl-C while it runs stops it (terminate, then kill) before
    the interrupt goes on, so that no process is left behind; on Linux the command is also killed
    when the trainer is (kill -9). ``cwd``: the folder it runs in."""

    def __init__(self, command: Sequence[str], *, name: str = "track", epoch_interval: int = 1,
                 timeout: float | None = None, export: bool = True, cwd: str | Path | None = None):
        self.cwd = cwd
        self.command = [str(part) for part in command]
        self.name = name
        self.epoch_interval = epoch_interval
        self.timeout = timeout
        self.export = export

    def arguments(self, trainer: "LTRTrainer") -> tuple[list[str], Path, Path | None]:
        folder = Path(trainer.checkpoint_dir) / self.name
        json_path = folder / f"ep{trainer.epoch:04d}.json"
        net = trainer.actor.net
        net = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
        network = folder / f"{type(net).__name__}_ep{trainer.epoch:04d}.pth.tar"
        values = {"network": str(network), "json": str(json_path), "epoch": str(trainer.epoch)}
        exported = None
        if self.export and any("{network}" in part for part in self.command):
            exported = export_network(trainer, network)
        folder.mkdir(parents=True, exist_ok=True)
        arguments = []
        for part in self.command:  # only the three placeholders: other braces stay as they are
            for key, value in values.items():
                part = part.replace("{" + key + "}", value)
            arguments.append(part)
        return arguments, json_path, exported

    def after_epoch(self, trainer: "LTRTrainer") -> dict[str, float] | None:
        if not trainer.settings.is_main_process:
            return None
        arguments, json_path, exported = self.arguments(trainer)
        json_path.unlink(missing_ok=True)
        try:
            return self._run(arguments, json_path, f"{self.name} evaluation after epoch {trainer.epoch}")
        finally:
            if exported is not None:  # the trainer's own checkpoint keeps the weights
                exported.unlink(missing_ok=True)

    def _run(self, arguments: list[str], json_path: Path, where: str) -> dict[str, float] | None:
        # The command dies with the trainer, even a trainer killed with SIGKILL (no orphan left).
        process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   cwd=self.cwd, preexec_fn=kill_with_parent)
        try:
            output, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            logger.warning("%s: stopped after %s s (%s); no figures this epoch", where, self.timeout,
                           " ".join(arguments))
            return None
        except BaseException:  # Ctrl-C (KeyboardInterrupt) or anything else: leave no process behind
            _stop(process)
            raise
        if process.returncode != 0:
            last = [line for line in (output or "").splitlines() if line.strip()]
            logger.warning("%s failed (exit status %d: %s): %s; no figures this epoch", where, process.returncode,
                           last[-1].strip() if last else "no output", " ".join(arguments))
            return None
        try:
            data = json.loads(json_path.read_text())
        except (OSError, ValueError) as error:
            logger.warning("%s wrote no readable %s (%s); no figures this epoch", where, json_path, error)
            return None
        figures = data.get("figures", data) if isinstance(data, dict) else {}
        numbers = {str(k): float(v) for k, v in figures.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not numbers:
            logger.warning("%s: %s holds no figures; no figures this epoch", where, json_path)
            return None
        return numbers


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
