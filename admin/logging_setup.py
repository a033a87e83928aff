"""One logging set-up for every entry script: console, and a file in the run's output folder."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_dir: str | Path | None = None, *, name: str = "run",
                  level: int = logging.INFO) -> Path | None:
    """Send log records at ``level`` and above to stderr and, when ``log_dir`` is given, to
    ``log_dir/<name>.log`` (appended). Returns the log file's path. Calling it again replaces
    the handlers it installed before, so a process never logs twice."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_tracking_handler", False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(FORMAT, datefmt="%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_file = None
    if log_dir is not None:
        log_file = Path(log_dir) / f"{name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._tracking_handler = True
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return log_file
