"""The actor of FairMOT training: the network's heads and FairMOT's loss (``MotLoss``)."""

from __future__ import annotations

import torch

from ltr.actors.base_actor import BaseActor
from ltr.data.tensordict import TensorDict
from ltr.models.loss.fairmot import FairMOTLoss

TARGETS = ("hm", "wh", "reg", "ind", "reg_mask", "ids")


class FairMOTActor(BaseActor):
    """Runs the network on ``images`` (B, 3, H, W) of a :class:`ltr.data.fairmot.FairMOTSamples`
    batch and returns FairMOT's loss against its targets. Stats: ``Loss/total``, ``Loss/hm``,
    ``Loss/wh``, ``Loss/off``, ``Loss/id`` (FairMOT's ``loss``, ``hm_loss``, ``wh_loss``,
    ``off_loss``, ``id_loss``). The objective (:class:`~ltr.models.loss.fairmot.FairMOTLoss`) has
    parameters: the trainer checkpoints it and the recipe adds them to the optimiser."""

    def __init__(self, net: torch.nn.Module, objective: FairMOTLoss | torch.nn.Module):
        super().__init__(net, objective)

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        outputs = self.net(data["images"])
        loss, parts = self.objective(outputs, {name: data[name] for name in TARGETS})
        stats = {"Loss/total": loss.item()}
        stats.update({f"Loss/{name}": parts[name].item() for name in ("hm", "wh", "off", "id")})
        return loss, stats

    def batch_size(self, data: TensorDict, stack_dim: int) -> int:
        return int(data["images"].shape[0])
