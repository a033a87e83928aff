"""The ATOM tracker: an online classifier finds the target, the IoU predictor fits its box.

Geometry: positions are (x, y) box centres and sizes (w, h), in image pixels, as float64
tensors. A sample is the square patch of side ``image_sample_size * scale`` around a position,
resized to ``image_sample_size``; ``target_scale`` keeps the target at the same size in samples
(``base_target_sz``), so that the target area is 1 / search_area_scale^2 of the sample's.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from pytracking.features.augmentation import augmentations_from_params
from pytracking.features.net_wrappers import NetWrapper, default_device
from pytracking.features.preprocessing import sample_patch, sample_patch_multiscale
from pytracking.libs import dcf, fourier
from pytracking.tracker.atom.box_refinement import RefinementParams, refine
from pytracking.tracker.atom.classifier import OnlineClassifier
from pytracking.tracker.atom.debug import DebugWriter
from pytracking.tracker.atom.localization import (HARD_NEGATIVE, NOT_FOUND, UNCERTAIN, LocalizationParams,
                                                  localize)
from pytracking.tracker.base import BaseTracker, TrackerParams

logger = logging.getLogger(__name__)
_NETWORKS: dict[tuple[str, str, str], NetWrapper] = {}


def shared_network(net_path, device: torch.device, amp: str | None = None) -> NetWrapper:
    """One loaded network per (path, device, amp) for the process: trackers are built per sequence."""
    key = (str(net_path), str(device), str(amp))
    if key not in _NETWORKS:
        _NETWORKS.clear()  # keep one network in memory
        _NETWORKS[key] = NetWrapper(net_path, device=device, amp=amp).initialize()
    return _NETWORKS[key]


def normalize_features(features: torch.Tensor, power: float) -> torch.Tensor:
    """Divide each map (N, C, H, W) by its mean |x|^power, to the 1/power."""
    if not power:
        return features
    scale = features.abs().pow(power).flatten(1).mean(1).add(1e-10).pow(1.0 / power)
    return features / scale.view(-1, 1, 1, 1)


class ATOM(BaseTracker):
    """ATOM (see the module docstring and ``pytracking/parameter/atom/default.py``). A network
    can be given directly (``network=NetWrapper.from_network(net)``) instead of
    ``params.net_path``; its precision is then the wrapper's ``amp``, not ``params.amp``."""

    def __init__(self, params: TrackerParams, *, network: NetWrapper | None = None):
        super().__init__(params)
        self._network = network

    # Setup -------------------------------------------------------------------------------

    def _setup(self, image: np.ndarray) -> None:
        p = self.params
        device = torch.device(p.device) if p.get("device", None) else default_device()
        self.net = (self._network if self._network is not None
                    else shared_network(p.net_path, device, p.get("amp", None)))
        self.rng = np.random.default_rng(p.get("seed", 0))
        self.generator = torch.Generator().manual_seed(int(p.get("seed", 0)))
        self.sample_sz = float(p.image_sample_size)
        self.layers = tuple(dict.fromkeys((p.classifier_layer,) + tuple(self.net.iou_layers if p.use_iou_net else ())))
        self.image_sz = torch.tensor([image.shape[1], image.shape[0]], dtype=torch.float64)
        self.localization = LocalizationParams(
            target_not_found_threshold=p.target_not_found_threshold, distractor_threshold=p.distractor_threshold,
            hard_negative_threshold=p.hard_negative_threshold, target_neighborhood_scale=p.target_neighborhood_scale,
            displacement_scale=p.displacement_scale, advanced=p.advanced_localization)
        self.refinement = RefinementParams(
            num_init_random_boxes=p.num_init_random_boxes, box_jitter_pos=p.box_jitter_pos,
            box_jitter_sz=p.box_jitter_sz, iterations=p.box_refinement_iter,
            step_length=p.box_refinement_step_length, step_length_decay=p.box_refinement_step_decay,
            maximal_aspect_ratio=p.maximal_aspect_ratio, top_k=p.iounet_k)
        self.debug = DebugWriter(p.get("debug", 0), p.get("debug_dir", None))

    def _features(self, patches: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.net.extract_backbone(patches, self.layers)
        return normalize_features(features[self.params.classifier_layer], self.params.normalize_power), features

    # initialize ----------------------------------------------------------------------------

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        p = self.params
        self._setup(image)
        x, y, w, h = (float(v) for v in info["init_bbox"])
        if not (w > 0 and h > 0 and all(math.isfinite(v) for v in (x, y, w, h))):
            raise ValueError(f"ATOM needs an initial box of positive size, got {info['init_bbox']}")
        self.frame_num = 1
        self.pos = torch.tensor([x + w / 2, y + h / 2], dtype=torch.float64)
        self.target_sz = torch.tensor([w, h], dtype=torch.float64)
        self.target_scale = math.sqrt(w * h) * p.search_area_scale / self.sample_sz
        self.base_target_sz = self.target_sz / self.target_scale
        self.min_scale_factor = float((10.0 / self.base_target_sz).max())
        self.max_scale_factor = float((self.image_sz / self.base_target_sz).min())

        # The first frame's samples: a patch twice the sample's side, augmented and cut to size.
        expanded = int(round(self.sample_sz * p.augmentation_expansion_factor))
        patch, _ = sample_patch(image, self.pos.tolist(), self.target_scale * expanded, expanded)
        transforms, dropout = augmentations_from_params(
            p.augmentation, sample_size=self.sample_sz, output_sz=int(self.sample_sz), rng=self.rng,
            random_shift_factor=p.random_shift_factor)
        samples = torch.cat([t(patch) for t in transforms])
        centres = [t.transform_point(torch.tensor([expanded / 2] * 2), (expanded, expanded)) for t in transforms]
        classifier_features, features = self._features(samples)

        feature_sz = classifier_features.shape[-1]
        self.classifier = OnlineClassifier(
            feature_sz=feature_sz, stride=self.sample_sz / feature_sz, filter_size=p.filter_size,
            compressed_dim=p.compressed_dim, output_sigma_factor=p.output_sigma_factor, filter_reg=p.filter_reg,
            projection_reg=p.projection_reg, activation=p.response_activation, memory_size=p.sample_memory_size,
            learning_rate=p.learning_rate, init_samples_minimum_weight=p.init_samples_minimum_weight,
            precond_data_param=p.precond_data_param, precond_reg_param=p.precond_reg_param,
            precond_proj_param=p.precond_proj_param, fletcher_reeves=p.fletcher_reeves,
            standard_alpha=p.standard_alpha, direction_forget_factor=p.CG_forgetting_rate or 0.0,
            generator=self.generator)
        labels = torch.cat([self.classifier.label(c, self.base_target_sz) for c in centres]).to(classifier_features)
        if dropout is not None:
            copies = dropout(classifier_features[:1], self.rng)
            classifier_features = torch.cat([classifier_features, copies])
            labels = torch.cat([labels, labels[:1].expand(copies.shape[0], -1, -1, -1)])
        self.classifier.initialize(classifier_features, labels, num_gn_iter=p.init_GN_iter,
                                   num_cg_iter=p.init_CG_iter // max(p.init_GN_iter, 1))
        self.classifier.optimize(p.post_init_CG_iter)

        if p.use_iou_net:
            box = self._sample_box(self.pos, self.pos, self.target_scale).view(1, 4)
            self.modulation = self.net.iou_modulation({k: v[:1] for k, v in features.items()}, box.float())
        return {}

    # track -------------------------------------------------------------------------------

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        p = self.params
        self.frame_num += 1
        sample_pos = self.pos.clone()
        scales = [self.target_scale * f for f in p.scale_factors]
        patches, _ = sample_patch_multiscale(image, sample_pos.tolist(), scales, self.sample_sz, int(self.sample_sz))
        classifier_features, features = self._features(patches)
        projected = self.classifier.project(classifier_features)
        scores = self._upsampled(self.classifier.scores(projected))
        if p.window_output:
            # Favour peaks near the last position (the sample centre): a motion prior.
            scores = scores * dcf.hann2d(scores.shape[-2:], centered=True).to(scores)[0]

        factor = scores.shape[-1] / self.classifier.output_sz
        centre = self.classifier.pixel_to_cell(torch.full((2,), self.sample_sz / 2)) * factor
        size_cells = torch.stack([(self.target_sz / s).float() for s in scales]) / self.classifier.stride * factor
        found = localize(scores, centre.expand(len(scales), 2), size_cells, self.localization)
        scale = scales[found.scale_index]
        peak = self.classifier.cell_to_pixel(found.cell.double() / factor)
        new_pos = sample_pos + (peak - self.sample_sz / 2) * scale

        if found.flag != NOT_FOUND:
            if p.use_iou_net:
                self._update_state(new_pos)
                update_scale = p.update_scale_when_uncertain or found.flag != UNCERTAIN
                iou_features = {k: v[found.scale_index:found.scale_index + 1] for k, v in features.items()}
                self._refine(iou_features, sample_pos, scale, update_scale)
            else:
                self._update_state(new_pos, scale)

        hard_negative = found.flag == HARD_NEGATIVE
        if found.flag not in (NOT_FOUND, UNCERTAIN):
            centre_px = (self.pos - sample_pos) / scale + self.sample_sz / 2
            label = self.classifier.label(centre_px, self.target_sz / scale).to(projected)
            self.classifier.update(projected[found.scale_index:found.scale_index + 1], label,
                                   p.hard_negative_learning_rate if hard_negative else None)
        if hard_negative:
            self.classifier.optimize(p.hard_negative_CG_iter)
        elif (self.frame_num - 1) % p.train_skipping == 0:
            self.classifier.optimize(p.CG_iter)

        box = torch.cat([self.pos - self.target_sz / 2, self.target_sz]).tolist()
        self.debug.frame(self.frame_num, image, box, scores[found.scale_index], found)
        return {"target_bbox": box, "flag": found.flag, "max_score": found.max_score}

    # Helpers -----------------------------------------------------------------------------

    def _upsampled(self, scores: torch.Tensor) -> torch.Tensor:
        factor = int(self.params.score_upsample_factor)
        if factor <= 1:
            return scores
        size = [scores.shape[-2] * factor, scores.shape[-1] * factor]
        return fourier.sample_fs(fourier.cfft2(scores), size)

    def _sample_box(self, pos: torch.Tensor, sample_pos: torch.Tensor, scale: float) -> torch.Tensor:
        """The target box [x, y, w, h] in the pixels of the sample taken at ``sample_pos``."""
        centre = (pos - sample_pos) / scale + self.sample_sz / 2
        size = self.target_sz / scale
        return torch.cat([centre - size / 2, size])

    def _set_scale(self, scale: float) -> None:
        self.target_scale = min(max(scale, self.min_scale_factor), self.max_scale_factor)

    def _set_position(self, pos: torch.Tensor) -> None:
        # Keep at least 20% of the target's width and height inside the image.
        margin = 0.3 * self.target_sz
        self.pos = torch.maximum(torch.minimum(pos, self.image_sz + margin), -margin)

    def _update_state(self, new_pos: torch.Tensor, new_scale: float | None = None) -> None:
        if new_scale is not None:
            self._set_scale(new_scale)
            self.target_sz = self.base_target_sz * self.target_scale
        self._set_position(new_pos)

    def _refine(self, features: dict[str, torch.Tensor], sample_pos: torch.Tensor, scale: float,
                update_scale: bool) -> None:
        init_box = self._sample_box(self.pos, sample_pos, scale).float()
        window = None
        if self.params.get("iou_window_margin") is not None:
            # Only the features the refined boxes can reach: the box and a margin around it.
            margin = float(self.params.iou_window_margin) * float(init_box[2:].prod().sqrt())
            corners = torch.cat([init_box[:2] - margin, init_box[:2] + init_box[2:] + margin])
            window = (corners / self.sample_sz).tolist()
        modulated = self.net.modulated_iou_features(self.modulation, self.net.iou_features(features, window))
        device = modulated[0].device

        def predict(boxes: torch.Tensor) -> torch.Tensor:
            return self.net.predict_iou_modulated(modulated, boxes.to(device))

        result = refine(predict, init_box, self.refinement, self.generator)
        if result is None:
            return
        box = result[0].double().cpu()
        new_pos = sample_pos + (box[:2] + box[2:] / 2 - self.sample_sz / 2) * scale
        self.target_sz = box[2:] * scale
        self._set_position(new_pos)
        if update_scale:
            self._set_scale(math.sqrt(float((self.target_sz / self.base_target_sz).prod())))
