"""Per-attribute scores: the success AUC of each tracker over the sequences that show an
attribute (illumination variation, occlusion ...), for the benchmarks that publish attributes.

An attribute file is JSON: ``att_name_short`` and ``att_name_long`` list the attributes, and every
other key is a sequence name mapping to the short names of its attributes. The packaged files are
in ``pytracking/evaluation/specs/``; a sequence is looked up by its name, then by its name without
the dataset prefix (``uav_bike1`` -> ``bike1``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path

import numpy as np

from pytracking.analysis.evaluate import AnalysisResult
from pytracking.evaluation.annotations import SPEC_DIR

logger = logging.getLogger(__name__)
ATTRIBUTE_FILES = {"otb": "otb_attributes.json", "lasot": "LaSOT_attributes.json", "uav": "UAV123_attributes.json"}


@dataclasses.dataclass
class Attributes:
    short: list[str]
    long: list[str]
    of_sequence: dict[str, frozenset[str]]
    source: Path

    def lookup(self, sequence: str, dataset: str = "") -> frozenset[str] | None:
        """The attributes of ``sequence``, or None where the file does not name it."""
        if sequence in self.of_sequence:
            return self.of_sequence[sequence]
        prefix = f"{dataset}_"
        if dataset and sequence.startswith(prefix):
            return self.of_sequence.get(sequence[len(prefix):])
        return None


@dataclasses.dataclass
class AttributeRow:
    short: str
    long: str
    sequences: int  # sequences used that show the attribute
    auc: dict[str, float]  # tracker label -> percent; NaN where no sequence shows it


def read_attributes(path: str | Path) -> Attributes:
    """The attribute file at ``path`` (see the module docstring for its layout)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        short, long = list(data["att_name_short"]), list(data["att_name_long"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"attribute file {path} cannot be read ({error}); it needs att_name_short, "
                         f"att_name_long and one list of attributes per sequence") from error
    if len(short) != len(long):
        raise ValueError(f"attribute file {path}: {len(short)} short names but {len(long)} long names")
    of_sequence = {}
    for name, values in data.items():
        if name.startswith("att_name_"):
            continue
        # Empty strings occur in the published files (OTB Walking); they name no attribute.
        values = frozenset(v for v in values if v)
        unknown = values - set(short)
        if unknown:
            raise ValueError(f"attribute file {path}: sequence {name} has attributes {sorted(unknown)} that "
                             f"att_name_short does not list")
        of_sequence[name] = values
    return Attributes(short, long, of_sequence, path)


def load_attributes(dataset: str, path: str | Path | None = None) -> Attributes | None:
    """The attributes of ``dataset`` (from ``path`` if given), or None where it has none."""
    if path is None:
        if dataset not in ATTRIBUTE_FILES:
            return None
        path = SPEC_DIR / ATTRIBUTE_FILES[dataset]
        if not Path(path).is_file():
            raise FileNotFoundError(f"attribute file {path} does not exist: the package data folder {SPEC_DIR} "
                                    f"is incomplete; reinstall the package")
    return read_attributes(path)


def attribute_auc(result: AnalysisResult, attributes: Attributes) -> list[AttributeRow]:
    """One row per attribute: how many of the sequences used show it, and each tracker's success
    AUC averaged over those sequences."""
    found = [attributes.lookup(name, result.dataset) for name in result.sequences]
    unnamed = [name for name, values in zip(result.sequences, found) if values is None]
    if unnamed:
        logger.warning("%d of %d sequences are not in the attribute file %s and count for no attribute: %s",
                       len(unnamed), len(result.sequences), attributes.source, ", ".join(unnamed[:10]))
    rows = []
    for short, long in zip(attributes.short, attributes.long):
        members = [i for i, values in enumerate(found) if values is not None and short in values]
        auc = {}
        for tracker in result.trackers:
            curves = result.curves[tracker.label]
            auc[tracker.label] = (100.0 * float(np.mean([curves[i].success.mean() for i in members]))
                                  if members else math.nan)
        rows.append(AttributeRow(short, long, len(members), auc))
    return rows
