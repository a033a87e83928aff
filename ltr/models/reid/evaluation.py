"""Validation of a ReID network: mmtracking's ``ReIDDataset.evaluate`` (mAP and CMC ranks) and
mean distances, as an epoch hook for the trainer.

Published metric rule: squared Euclidean distances between all validation embeddings (each
crop is a query, all crops the gallery); each query's gallery sorted by distance with the first
entry (itself) removed; queries whose identity has no other crop are skipped; CMC rank k: the
share of queries with a crop of their identity among the k nearest; AP: the mean over the
query's matches of (matches so far) / (rank); mAP: their mean.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ltr.data.reid_sampler import ReIDProcessing

logger = logging.getLogger(__name__)


def reid_metrics(embeddings: torch.Tensor, labels: torch.Tensor | np.ndarray, *,
                 ranks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """``mAP``, ``R<k>`` for ``ranks`` (module docstring) and ``dist_same`` / ``dist_other``: the
    mean Euclidean distance between crops of one identity (pairs of distinct crops) and of
    different identities. ``embeddings`` ``(N, D)``, ``labels`` ``(N,)``."""
    features = embeddings.detach().double().cpu()
    labels = np.asarray(labels, dtype=np.int64)
    squared = features.pow(2).sum(1, keepdim=True)
    distances = (squared + squared.t() - 2 * features @ features.t()).numpy()
    order = np.argsort(distances, axis=1, kind="stable")
    matches = labels[order] == labels[:, None]
    cmc, average_precisions = [], []
    for row in matches:
        hits = row[1:]  # the first is the query itself
        if not hits.any():
            continue
        cumulative = hits.cumsum()
        cmc.append(np.minimum(cumulative, 1))
        average_precisions.append(float((cumulative / np.arange(1, len(hits) + 1) * hits).sum() / hits.sum()))
    if not cmc:
        raise ValueError("no validation identity has two crops: mAP and CMC need at least one")
    cmc_mean = np.mean(cmc, axis=0)
    same = labels[:, None] == labels[None, :]
    distinct = ~np.eye(len(labels), dtype=bool)
    euclidean = np.sqrt(np.maximum(distances, 0))
    figures = {"mAP": float(np.mean(average_precisions))}
    figures.update({f"R{k}": float(cmc_mean[min(k, len(cmc_mean)) - 1]) for k in ranks})
    figures["dist_same"] = float(euclidean[same & distinct].mean())
    figures["dist_other"] = float(euclidean[~same].mean()) if (~same).any() else float("nan")
    return figures


class ReIDEvaluation:
    """Epoch hook: embeds the crops of ``dataset`` (``get_crop``, ``labels``; at most
    ``max_crops``, evenly spread) with the network in eval mode (validation pipeline: resize and
    normalise, no flip) and returns :func:`reid_metrics`."""

    def __init__(self, dataset, *, crop_size: tuple[int, int], mean, std, name: str = "val",
                 epoch_interval: int = 1, batch_size: int = 64, max_crops: int | None = None):
        self.dataset = dataset
        self.name = name
        self.epoch_interval = int(epoch_interval)
        self.batch_size = int(batch_size)
        self.processing = ReIDProcessing(crop_size=crop_size, flip_probability=0.0, mean=mean, std=std)
        count = len(dataset)
        if max_crops is not None and count > max_crops:
            self.indices = np.linspace(0, count - 1, max_crops).round().astype(np.int64)
        else:
            self.indices = np.arange(count)

    @torch.no_grad()
    def embed(self, net: torch.nn.Module, device: torch.device) -> torch.Tensor:
        chunks = []
        for start in range(0, len(self.indices), self.batch_size):
            crops = [self.dataset.get_crop(int(i)) for i in self.indices[start:start + self.batch_size]]
            chunks.append(net(self.processing(crops).to(device), with_logits=False).cpu())
        return torch.cat(chunks)

    def after_epoch(self, trainer) -> dict[str, float]:
        net = trainer.actor.net
        net = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
        was_training = net.training
        net.eval()
        try:
            embeddings = self.embed(net, trainer.device)
        finally:
            net.train(was_training)
        return reid_metrics(embeddings, np.asarray(self.dataset.labels)[self.indices])
