"""FairMOT's network, loaded for tracking, either

- a checkpoint of this toolkit's trainer (``checkpoint``: a path, absolute or relative to
  ``network_path``, loaded with :func:`ltr.models.loading.load_network`), or
- FairMOT's ``--arch`` and ``--load_model``: the network built by
  ``ltr.models.fairmot.network.build_fairmot(arch, ...)`` and the released weights file loaded into
  it by ``ltr.models.fairmot.convert.load_fairmot_weights``.

The network is put in eval mode on its device with frozen weights and kept for the process while
its file is unchanged (the runner builds one tracker per sequence; the network has no state).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ltr.models.fairmot.convert import load_fairmot_weights
from ltr.models.fairmot.network import build_fairmot
from ltr.models.loading import load_network
from pytracking.features.net_wrappers import kept_network, resolve_network_path

def load_fairmot_network(*, checkpoint: str | None, arch: str | None, load_model: str | None,
                         network_kwargs: dict[str, Any], device: torch.device) -> nn.Module:
    """The network from ``checkpoint``, or from ``arch`` and ``load_model`` (``checkpoint`` wins
    when both are set), in eval mode on ``device``. Errors name the parameters to set."""
    if checkpoint is None and load_model is None:
        raise ValueError("FairMOT needs a network: set checkpoint (a checkpoint of this toolkit) or arch with "
                         "load_model (FairMOT's released weights, e.g. fairmot_dla34.pth in network_path) in the "
                         "parameter file, or pass --load_model")
    if checkpoint is None and arch is None:
        raise ValueError(f"FairMOT: load_model={load_model!r} needs arch (dla_34, dlaconv_34, resdcn_34, resdcn_50, "
                         f"tiny)")
    path = resolve_network_path(checkpoint if checkpoint is not None else load_model)

    def build() -> nn.Module:
        if checkpoint is not None:
            return load_network(path)
        net = build_fairmot(arch, **network_kwargs)
        load_fairmot_weights(net, path)
        return net

    return kept_network(path, (None if checkpoint is not None else arch, repr(sorted(network_kwargs.items()))),
                        build, device, what="FairMOT network")
