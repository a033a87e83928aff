"""The actor of detector training (Faster R-CNN, mmdetection's losses)."""

from __future__ import annotations

import torch

from ltr.actors.base_actor import BaseActor
from ltr.data.tensordict import TensorDict


class DetectionActor(BaseActor):
    """Runs the detector in training mode on a batch of :func:`ltr.data.detection.collate_detection`
    (``images`` (B, 3, H, W), ``image_sizes`` (B, 2) ``[h, w]``, per image ``boxes`` (N, 4)
    ``[x0, y0, x1, y1]`` and ``labels`` (N,)) and sums the losses it returns, as mmdet's
    ``_parse_losses`` does (every entry whose name holds 'loss'). Stats: ``Loss/total`` and
    ``Loss/<name>`` without the 'loss_' prefix (``Loss/rpn_cls``, ``Loss/bbox``, ...). The
    network computes its own losses: no objective."""

    def __init__(self, net: torch.nn.Module):
        super().__init__(net, objective=None)

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        sizes = [tuple(int(v) for v in size) for size in data["image_sizes"].tolist()]
        targets = [{"boxes": boxes, "labels": labels} for boxes, labels in zip(data["boxes"], data["labels"])]
        losses = self.net(data["images"], sizes, targets)
        if not isinstance(losses, dict):
            raise TypeError(f"{type(self.net).__name__} returned {type(losses).__name__} in training mode, not a dict "
                            f"of losses: is the actor's network in training mode?")
        terms = {name: value for name, value in losses.items() if "loss" in name}
        if not terms:
            raise ValueError(f"{type(self.net).__name__} returned no loss (entries {sorted(losses)})")
        terms = {name: value.mean() for name, value in terms.items()}  # mmdet: the mean of a loss tensor
        loss = sum(terms.values())
        stats = {"Loss/total": loss.item()}
        stats.update({f"Loss/{name.removeprefix('loss_')}": value.item() for name, value in terms.items()})
        return loss, stats

    def batch_size(self, data: TensorDict, stack_dim: int) -> int:
        return int(data["images"].shape[0])
