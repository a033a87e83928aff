"""Turning sampled frames into network inputs. ``ATOMProcessing`` crops around jittered boxes,
transforms the crops and draws the IoU-Net's box proposals."""

from __future__ import annotations

import numpy as np
import torch

from ltr.data import transforms as tfm
from ltr.data.boxes import cxcywh_to_xywh, xywh_to_cxcywh
from ltr.data.image_loader import LazyFrame
from ltr.data.processing_utils import (as_floats, crop_region, crop_window, decode_reduction, extract_crop,
                                       recycled_arrays, sample_proposals)
from ltr.data.tensordict import TensorDict


class BaseProcessing:
    """Holds the transforms: ``transform`` for both splits unless ``train_transform`` or
    ``test_transform`` is given, and ``joint_transform`` for all images of a sample at once."""

    def __init__(self, *, transform: tfm.Transform | None = None, train_transform: tfm.Transform | None = None,
                 test_transform: tfm.Transform | None = None, joint_transform: tfm.Transform | None = None,
                 seed: int = 0):
        default = transform if transform is not None else tfm.Transform(tfm.ToTensor())
        self.transform = {
            "train": train_transform if train_transform is not None else default,
            "test": test_transform if test_transform is not None else default,
            "joint": joint_transform,
        }
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        """Start the random stream anew (called per loader worker and epoch)."""
        self.rng = np.random.default_rng(seed)

    def __call__(self, data: TensorDict) -> TensorDict:
        raise NotImplementedError


class ATOMProcessing(BaseProcessing):
    """For each frame: jitter the box (``center_jitter_factor`` and ``scale_jitter_factor`` per
    split, 'train' and 'test'), crop a square of side ceil(sqrt(w * h) * search_area_factor)
    around the jittered box, resize it to ``output_sz`` and map the box into it; transform the
    crops; for each test frame draw ``proposal_params['boxes_per_frame']`` proposals (with its
    ``sigma_factor`` list and ``min_iou``) and their IoU target 2 * IoU - 1.

    Frames given as :class:`LazyFrame` are decoded here; with ``reduced_decoding`` on, only the
    part the crop reads, and at 1/2, 1/4 or 1/8 of the size when the crop shrinks the frame that
    much anyway. Crops (and the fused transforms' results) are written into arrays handed out
    again once nothing refers to them (:class:`~ltr.data.processing_utils.RecycledArrays`):
    fresh memory for every sample would be faulted in page by page.

    ``mode='pair'`` returns one frame per split (tensors, not lists); ``mode='sequence'`` stacks
    the frames of each split in the first dimension."""

    def __init__(self, *, search_area_factor: float, output_sz: int, center_jitter_factor: dict,
                 scale_jitter_factor: dict, proposal_params: dict, mode: str = "pair",
                 reduced_decoding: bool = True, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("pair", "sequence"):
            raise ValueError(f"mode must be 'pair' or 'sequence', got {mode!r}")
        self.search_area_factor = search_area_factor
        self.output_sz = int(output_sz)
        self.center_jitter_factor = center_jitter_factor
        self.scale_jitter_factor = scale_jitter_factor
        self.proposal_params = proposal_params
        self.mode = mode
        self.reduced_decoding = reduced_decoding

    def jittered_box(self, box: torch.Tensor, split: str) -> torch.Tensor:
        """The box with its size scaled by exp(N(0, scale_jitter)) and its centre moved by up
        to center_jitter * sqrt(area) / 2 in each direction."""
        x, y, w, h = as_floats(box)
        size = np.array([w, h]) * np.exp(self.rng.standard_normal(2) * self.scale_jitter_factor[split])
        max_offset = np.sqrt(size.prod()) * self.center_jitter_factor[split]
        centre = xywh_to_cxcywh(np.array([x, y, w, h]))[:2] + max_offset * (self.rng.random(2) - 0.5)
        return torch.from_numpy(cxcywh_to_xywh(np.concatenate([centre, size])).astype(np.float32))

    def crop(self, frame, box: torch.Tensor, jittered: torch.Tensor):
        """Crop ``frame`` (an array or a LazyFrame) around ``jittered``; ``box`` in crop coordinates."""
        window = crop_window(jittered, self.search_area_factor, self.output_sz)
        if isinstance(frame, LazyFrame):
            if self.reduced_decoding:
                # Decode only what the crop reads, at the smallest size it can use.
                reduction = decode_reduction(window)
                image, reduction, origin = frame.load_region(reduction, crop_region(window, 1.0 / reduction))
            else:
                image, reduction = frame.load(1)
                origin = (0, 0)
            crop = extract_crop(image, window, 1.0 / reduction, origin, pool=recycled_arrays)
        else:
            crop = extract_crop(frame, window, pool=recycled_arrays)
        return crop, window.map_box(box.to(torch.float32))

    def proposals(self, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = self.proposal_params
        proposals, iou = sample_proposals(box, params["boxes_per_frame"], params["sigma_factor"],
                                          params.get("min_iou", 0.0), rng=self.rng)
        return proposals, 2 * iou - 1

    def __call__(self, data: TensorDict) -> TensorDict:
        for split in ("train", "test"):
            crops, boxes = [], []
            for frame, box in zip(data[f"{split}_images"], data[f"{split}_anno"]):
                crop, mapped = self.crop(frame, box, self.jittered_box(box, split))
                crops.append(crop)
                boxes.append(mapped)
            data[f"{split}_images"], data[f"{split}_anno"] = crops, boxes

        if self.transform["joint"] is not None:
            count = len(data["train_images"])
            images, boxes = self.transform["joint"](
                image=data["train_images"] + data["test_images"], bbox=data["train_anno"] + data["test_anno"],
                joint=True, rng=self.rng)
            data["train_images"], data["test_images"] = images[:count], images[count:]
            data["train_anno"], data["test_anno"] = boxes[:count], boxes[count:]
        for split in ("train", "test"):
            data[f"{split}_images"], data[f"{split}_anno"] = self.transform[split](
                image=data[f"{split}_images"], bbox=data[f"{split}_anno"], joint=False, rng=self.rng)

        proposals, targets = zip(*(self.proposals(box) for box in data["test_anno"]))
        data["test_proposals"], data["proposal_iou"] = list(proposals), list(targets)

        keys = ("train_images", "train_anno", "test_images", "test_anno", "test_proposals", "proposal_iou")
        for key in keys:
            if self.mode == "pair":
                data[key] = data[key][0]
            else:
                # One frame (ATOM's case): a view with the new dimension, not a copy.
                data[key] = data[key][0].unsqueeze(0) if len(data[key]) == 1 else torch.stack(data[key])
        return data
