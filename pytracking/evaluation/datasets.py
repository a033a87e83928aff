"""The registry of evaluation datasets: ``get_dataset("otb")`` returns a :class:`SequenceList`.

Loaders are imported when first asked for. Every loader takes ``root=`` (the dataset folder; by
default the environment field named below) and its own keywords:

| name | loader | environment field | keywords |
|---|---|---|---|
| otb, nfs, uav, tpl | specdatasets | otb_path, nfs_path, uav_path, tpl_path | specs, spec_file, strict |
| tpl_nootb | specdatasets.tpl(exclude_otb=True) | tpl_path | specs, spec_file, strict, otb_specs |
| vot, lasot | folderdatasets | vot_path, lasot_path | sequences |
| got10k_val, got10k_test | folderdatasets.got10k | got10k_path | |
| trackingnet | folderdatasets | trackingnet_path | |
| synthetic | folderdatasets | synthetic_dir | |
| mot15, mot16, mot20 (+ _test, _half_val) | motdatasets | mot15_dir, mot16_dir, mot20_dir | half_split, sequences |
| mot17 (+ _test, _half_val) | motdatasets | mot17_dir | detector ('DPM', 'FRCNN', 'SDP'), half_split, sequences |
| synthetic_mot (val split; synthetic_mot_train) | motdatasets | synthetic_mot_dir | sequences |
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from .data import SequenceList

_PACKAGE = __name__.rsplit(".", 1)[0]
_SPEC = f"{_PACKAGE}.specdatasets"
_FOLDER = f"{_PACKAGE}.folderdatasets"
_MOT = f"{_PACKAGE}.motdatasets"

# name -> (module, function, fixed keyword arguments)
_REGISTRY: dict[str, tuple[str, str, dict[str, Any]]] = {
    "otb": (_SPEC, "otb", {}),
    "nfs": (_SPEC, "nfs", {}),
    "uav": (_SPEC, "uav", {}),
    "tpl": (_SPEC, "tpl", {}),
    "tpl_nootb": (_SPEC, "tpl", {"exclude_otb": True}),
    "vot": (_FOLDER, "vot", {}),
    "lasot": (_FOLDER, "lasot", {}),
    "got10k_val": (_FOLDER, "got10k", {"split": "val"}),
    "got10k_test": (_FOLDER, "got10k", {"split": "test"}),
    "trackingnet": (_FOLDER, "trackingnet", {}),
    "synthetic": (_FOLDER, "synthetic", {}),
}
for _name in ("mot15", "mot16", "mot17", "mot20"):
    _REGISTRY[_name] = (_MOT, _name, {"split": "train"})
    _REGISTRY[f"{_name}_test"] = (_MOT, _name, {"split": "test"})
    _REGISTRY[f"{_name}_half_val"] = (_MOT, _name, {"split": "half-val"})
# The generated dataset is evaluated on its validation sequences, as the single-object one.
_REGISTRY["synthetic_mot"] = (_MOT, "synthetic_mot", {"split": "val"})
_REGISTRY["synthetic_mot_train"] = (_MOT, "synthetic_mot", {"split": "train"})


def dataset_names() -> list[str]:
    """The names :func:`get_dataset` knows."""
    return list(_REGISTRY)


def get_dataset(name: str, **kwargs: Any) -> SequenceList:
    """The sequences of dataset ``name``; ``kwargs`` go to its loader (``root=`` for one)."""
    try:
        module, function, fixed = _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(_REGISTRY)}") from None
    loader = getattr(importlib.import_module(module), function)
    return loader(**{**fixed, **kwargs})
