"""The ATOM tracker: an online classifier finds the target, the IoU predictor fits its box.

The published tracker's rules, step by step (the parameter files name the options that depart
from them; see ``pytracking/parameter/atom/improved.py``):

- geometry: ``pos`` is the target centre as a pixel index, (x + (w - 1) / 2, y + (h - 1) / 2)
  for a box [x, y, w, h], in (x, y) order, float32; the box returned is pos - (size - 1) / 2;
- scale: ``target_scale`` maps sample pixels to image pixels; the first frame sets it so that
  search_area_scale^2 target areas fill the sample (between ``min_image_sample_size`` and
  ``max_image_sample_size``, both image_sample_size^2 by default); the sample side is
  round(sqrt(that area)) made a multiple of the feature stride with an even (or, with
  ``feature_size_odd``, odd) feature map;
- samples: cut at the current position with ``crop_mode`` "whole_pixel" (the published crop,
  :func:`sample_patch_whole_pixels`), whose geometry takes the position rounded to a whole
  pixel as the sample's centre, or "subpixel" (the training crop, centred on the exact
  position);
- localisation: scores interpolated to ``score_upsample_factor`` cells per sample pixel, the
  peak and the distractor rules of :mod:`.localization`; the move is the peak's displacement
  times the sample-to-image scale (times the scale factor of the chosen scale only without
  advanced localisation, as published);
- the position is kept within [-0.3 size, image size + 0.3 size] and the scale within
  [10 / base size, image size / base size] when the classifier moves them; the IoU predictor's
  box is taken as it is (``clamp_refined_state`` applies the same limits to it);
- the classifier learns from frames that are neither ``not_found`` nor ``uncertain``, with
  labels of the first frame's width; it trains every ``train_skipping`` frames, and after a
  hard negative.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from ltr.data.boxes import pixel_centre_from_corner, pixel_cxcywh_to_xywh, xywh_to_cxcywh, xywh_to_xyxy
from pytracking.features.augmentation import (Blur, FlipHorizontal, Identity, Translation,
                                              augmentations_from_params)
from pytracking.features.net_wrappers import default_device
from pytracking.features.preprocessing import (numpy_to_torch, sample_patch_multiscale,
                                               sample_patch_whole_pixels_multiscale)
from pytracking.libs import dcf
from pytracking.tracker.atom.box_refinement import RefinementParams, refine
from pytracking.tracker.atom.classifier import OnlineClassifier
from pytracking.tracker.atom.debug import DebugWriter
from pytracking.tracker.atom.localization import (HARD_NEGATIVE, NOT_FOUND, UNCERTAIN, LocalizationParams,
                                                  interpolate_scores, localize)
from pytracking.tracker.atom.network import AtomNetWrapper
from pytracking.tracker.atom.parameters import PARAMETERS
from pytracking.tracker.base import BaseTracker, TrackerParams

logger = logging.getLogger(__name__)
_NETWORKS: dict[tuple, AtomNetWrapper] = {}

CROP_MODES = ("whole_pixel", "subpixel")
# Output stride of each ResNet layer, for the sample size rule (it runs before any feature).
LAYER_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
# Augmentations whose sample keeps the target box up to the shift (iounet_augmentation).
_BOX_KEEPING = (Identity, Translation, FlipHorizontal, Blur)


def shared_network(net_path, device: torch.device, amp: str | None = None, *, fold_batch_norm: bool = True,
                   channels_last: bool | None = None) -> AtomNetWrapper:
    """One loaded network per (path, device, options) for the process: trackers are built per
    sequence."""
    key = (str(net_path), str(device), str(amp), fold_batch_norm, channels_last)
    if key not in _NETWORKS:
        _NETWORKS.clear()  # keep one network in memory
        _NETWORKS[key] = AtomNetWrapper(net_path, device=device, amp=amp, fold_batch_norm=fold_batch_norm,
                                        channels_last=channels_last).initialize()
    return _NETWORKS[key]


def normalize_features(features: torch.Tensor, power: float) -> torch.Tensor:
    """Divide each map (N, C, H, W) by its mean |x|^power, to the 1/power."""
    if not power:
        return features
    # Summed, then divided by the count, as published (the same rounding as the published tracker).
    count = features.shape[1] * features.shape[2] * features.shape[3]
    total = torch.sum(features.abs().reshape(features.shape[0], 1, 1, -1) ** power, dim=3, keepdim=True)
    return features / (total / count + 1e-10) ** (1 / power)


def initial_target_scale(target_sz: torch.Tensor, search_area_scale: float, min_sample_area: float,
                         max_sample_area: float) -> float:
    """Image pixels per sample pixel on the first frame: 1 unless search_area_scale^2 target
    areas (``target_sz`` float32) lie outside [min_sample_area, max_sample_area], else the scale
    that brings them to the nearer bound."""
    search_area = torch.prod(target_sz * search_area_scale).item()
    if search_area > max_sample_area:
        return math.sqrt(search_area / max_sample_area)
    if search_area < min_sample_area:
        return math.sqrt(search_area / min_sample_area)
    return 1.0


def sample_size(base_target_sz: torch.Tensor, search_area_scale: float, stride: int,
                odd_features: bool = False) -> torch.Tensor:
    """The sample side (float32, a square's) for a target of ``base_target_sz`` sample pixels:
    the square root of search_area_scale^2 target areas rounded (halves to even), moved to the
    middle of a stride so that the feature map has an even side (odd with ``odd_features``):
    288 for the published settings."""
    side = torch.round(torch.sqrt(torch.prod(base_target_sz * search_area_scale)))
    if odd_features:
        return side + stride - side % (2 * stride)
    return side + stride - (side + stride) % (2 * stride)


class ATOM(BaseTracker):
    """ATOM (see the module docstring and ``pytracking/parameter/atom/default.py``). A network
    can be given directly (``network=AtomNetWrapper.from_network(net)``) instead of
    ``params.net_path``; its precision and speed-ups are then the wrapper's (``amp``,
    ``fold_batch_norm``, ``channels_last``), not the parameters'.

    The state (``pos``, ``target_sz``, ``target_scale``) is float32 and computed in the
    published order: the first frame's Gauss-Newton amplifies rounding in its labels by about
    10^5, so only the same arithmetic reproduces the published tracker's results."""

    PARAMETERS = PARAMETERS  # what ATOM reads: pytracking/tracker/atom/parameters.py

    def __init__(self, params: TrackerParams, *, network: AtomNetWrapper | None = None):
        super().__init__(params)
        self._network = network

    # Setup -------------------------------------------------------------------------------

    def _setup(self, image: np.ndarray) -> None:
        p = self.params
        device = torch.device(p.device) if p.get("device", None) else default_device()
        self.net = (self._network if self._network is not None
                    else shared_network(p.net_path, device, p.get("amp", None),
                                        fold_batch_norm=p.get("fold_batch_norm", False),
                                        channels_last=p.get("channels_last", False)))
        seed = int(p.get("seed", 0))
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.crop_mode = p.get("crop_mode", "whole_pixel")
        if self.crop_mode not in CROP_MODES:
            raise ValueError(f"crop_mode must be one of {', '.join(CROP_MODES)}, got {self.crop_mode!r}")
        if p.classifier_layer not in LAYER_STRIDES:
            raise ValueError(f"classifier_layer must be one of {', '.join(LAYER_STRIDES)}, got {p.classifier_layer!r}")
        self.layers = tuple(dict.fromkeys((p.classifier_layer,) + tuple(self.net.iou_layers if p.use_iou_net else ())))
        self.image_sz = torch.Tensor([image.shape[1], image.shape[0]])
        self.scale_factors = torch.tensor([float(f) for f in p.scale_factors], dtype=torch.float32)
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

    def _sample_centre(self, pos: torch.Tensor) -> torch.Tensor:
        """Where the geometry takes the centre of a sample cut at ``pos``: the whole-pixel crop's
        rounded position (halves to even, as published), the sub-pixel crop's exact one."""
        return pos.round() if self.crop_mode == "whole_pixel" else pos.clone()

    def _patches(self, image, pos: torch.Tensor, scales: torch.Tensor, size: float) -> torch.Tensor:
        """Patches (len(scales), 3, S, S) of sides ``size * scale`` around ``pos`` (a pixel index)."""
        centre = (pos.double() + 0.5).tolist()
        sides = [float(scale * size) for scale in scales]
        if self.crop_mode == "whole_pixel":
            return sample_patch_whole_pixels_multiscale(image, centre, sides, 1.0, int(size))
        patches, _ = sample_patch_multiscale(image, centre, sides, 1.0, int(size))
        return patches

    def _label_centre(self, pos: torch.Tensor, sample_pos: torch.Tensor, scale, shift=(0, 0)) -> torch.Tensor:
        """The label centre, in score cells (x, y) from the middle of the map, of a target at
        ``pos`` in a sample centred on ``sample_pos`` with ``scale``, moved by an augmentation's
        ``shift`` (sample pixels); published order: feature_sz * offset / (scale * sample_sz),
        plus half a cell for an even filter."""
        normalised = (pos - sample_pos) / (scale * self.sample_sz)
        half = 0.5 * torch.Tensor([(self.params.filter_size + 1) % 2] * 2)
        return self.feature_sz * normalised + half + torch.Tensor(list(shift)) / self.sample_sz * self.feature_sz

    # initialize ----------------------------------------------------------------------------

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        p = self.params
        self._setup(image)
        x, y, w, h = (float(v) for v in info["init_bbox"])
        if not (w > 0 and h > 0 and all(math.isfinite(v) for v in (x, y, w, h))):
            raise ValueError(f"ATOM needs an initial box of positive size, got {info['init_bbox']}")
        self.frame_num = 1
        self.pos = torch.Tensor([pixel_centre_from_corner(x, w), pixel_centre_from_corner(y, h)])
        self.target_sz = torch.Tensor([w, h])
        default_area = float(p.get("image_sample_size", 18 * 16)) ** 2
        self.target_scale = initial_target_scale(
            self.target_sz, p.search_area_scale, p.get("min_image_sample_size", default_area),
            p.get("max_image_sample_size", default_area))
        self.base_target_sz = self.target_sz / self.target_scale
        stride = LAYER_STRIDES[p.classifier_layer]
        self.sample_sz = sample_size(self.base_target_sz, p.search_area_scale, stride,
                                     p.get("feature_size_odd", False)) * torch.ones(2)
        side = int(self.sample_sz[0])
        self.output_sz = int(round(p.score_upsample_factor * side))
        self.output_window = (dcf.hann2d((self.output_sz, self.output_sz), centered=False)[0]
                              if p.window_output else None)
        self.min_scale_factor = torch.max(10 / self.base_target_sz)
        self.max_scale_factor = torch.min(self.image_sz / self.base_target_sz)

        # The first frame's samples: a patch twice the sample's side, augmented and cut to size.
        expanded = int(side * p.augmentation_expansion_factor)
        expanded += (expanded - side) % 2
        frame = numpy_to_torch(image) if self.crop_mode == "whole_pixel" else image
        patch = self._patches(frame, self.pos, torch.tensor([self.target_scale]), expanded)
        transforms, dropout = augmentations_from_params(
            p.augmentation, sample_size=side, output_sz=side, rng=self.rng, random_shift_factor=p.random_shift_factor)
        samples = torch.cat([t(patch) for t in transforms])
        classifier_features, features = self._features(samples)

        self.feature_sz = torch.Tensor([classifier_features.shape[-1], classifier_features.shape[-2]])
        learning_rate = p.learning_rate
        forgetting = p.get("CG_forgetting_rate", None)
        self.classifier = OnlineClassifier(
            feature_sz=classifier_features.shape[-1], filter_size=p.filter_size, compressed_dim=p.compressed_dim,
            filter_reg=p.filter_reg, projection_reg=p.projection_reg, activation=p.response_activation,
            memory_size=p.sample_memory_size,
            learning_rate=learning_rate, init_samples_minimum_weight=p.get("init_samples_minimum_weight", None),
            preconditioner=p.get("preconditioner", "diagonal"), precond_data_param=p.get("precond_data_param", 0.75),
            precond_reg_param=p.get("precond_reg_param", 0.25), precond_proj_param=p.get("precond_proj_param", 40),
            fletcher_reeves=p.fletcher_reeves, standard_alpha=True,
            direction_forget_factor=(0.0 if forgetting is None or learning_rate >= 1
                                     else (1 - learning_rate) ** forgetting),
            projection_init=p.get("proj_init_method", "randn"), filter_init=p.get("filter_init_method", "randn"),
            generator=self.generator)

        # Labels of the first frame's width, centred on the target's offset from the sample
        # centre plus each augmentation's shift (as published, the shift alone: a flip or
        # rotation of the sub-pixel offset is neglected); dropout copies take the first label.
        self.sigma = float((self.feature_sz / self.sample_sz * self.base_target_sz).prod().sqrt()
                           * p.output_sigma_factor)
        sample_pos = self._sample_centre(self.pos)
        labels = torch.cat([self.classifier.label(self._label_centre(self.pos, sample_pos, self.target_scale,
                                                                     t.shift), self.sigma)
                            for t in transforms]).to(classifier_features)
        if dropout is not None:
            copies = dropout(classifier_features[:1], self.rng)
            classifier_features = torch.cat([classifier_features, copies])
            labels = torch.cat([labels, labels[:1].expand(copies.shape[0], -1, -1, -1)])
        self.classifier.initialize(classifier_features, labels, num_gn_iter=p.init_GN_iter,
                                   num_cg_iter=p.init_CG_iter // max(p.init_GN_iter, 1))
        self.classifier.optimize(p.post_init_CG_iter)

        if p.use_iou_net:
            self._init_iou_net(features, transforms, sample_pos)
        self.pos_iounet = self.pos.clone()
        return {}

    def _init_iou_net(self, features: dict[str, torch.Tensor], transforms, sample_pos: torch.Tensor) -> None:
        box = self._sample_box(self.pos, self.target_sz, sample_pos, self.target_scale)
        boxes = [box]
        if self.params.get("iounet_augmentation", False):
            # The samples that keep the target box, up to their shift (as published).
            boxes = []
            for transform in transforms:
                if not isinstance(transform, _BOX_KEEPING):
                    break
                boxes.append(box + torch.Tensor([*transform.shift, 0, 0]))
        boxes = torch.stack(boxes)
        modulation = self.net.iou_modulation({k: v[:len(boxes)] for k, v in features.items()}, boxes)
        self.modulation = tuple(m.mean(0, keepdim=True) for m in modulation)

    # track -------------------------------------------------------------------------------

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        p = self.params
        self.frame_num += 1
        sample_pos = self._sample_centre(self.pos)
        scales = self.target_scale * self.scale_factors
        patches = self._patches(image, self.pos, scales, int(self.sample_sz[0]))
        classifier_features, features = self._features(patches)
        projected = self.classifier.project(classifier_features)
        window = None if self.output_window is None else self.output_window.to(projected)
        scores = interpolate_scores(self.classifier.scores(projected), (self.output_sz, self.output_sz),
                                    p.filter_size, window)

        output_per_sample = self.output_sz / float(self.sample_sz[0])
        neighbourhood = p.target_neighborhood_scale * self.target_sz / self.target_scale * output_per_sample
        found = localize(scores, neighbourhood, self.localization)
        scale = scales[found.scale_index]
        translation = found.displacement.float() * (self.sample_sz / self.output_sz) * self.target_scale
        if not self.localization.advanced:
            translation = translation * self.scale_factors[found.scale_index]

        if found.flag != NOT_FOUND:
            if p.use_iou_net:
                self._update_state(sample_pos + translation)
                update_scale = p.update_scale_when_uncertain or found.flag != UNCERTAIN
                iou_features = {k: v[found.scale_index:found.scale_index + 1] for k, v in features.items()}
                self._refine(iou_features, sample_pos, scale, update_scale)
            else:
                self._update_state(sample_pos + translation, scale)

        hard_negative = found.flag == HARD_NEGATIVE
        if found.flag not in (NOT_FOUND, UNCERTAIN):
            label = self.classifier.label(self._label_centre(self.pos, sample_pos, scale), self.sigma)
            self.classifier.update(projected[found.scale_index:found.scale_index + 1], label.to(projected),
                                   p.hard_negative_learning_rate if hard_negative else None)
        if hard_negative:
            self.classifier.optimize(p.hard_negative_CG_iter)
        elif (self.frame_num - 1) % p.train_skipping == 0:
            self.classifier.optimize(p.CG_iter)

        if p.use_iou_net and found.flag != NOT_FOUND:
            # The last refined position, as published (the classifier's when refinement failed).
            self.pos = self.pos_iounet.clone()

        box = pixel_cxcywh_to_xywh(torch.cat([self.pos, self.target_sz])).tolist()
        self.debug.frame(self.frame_num, image, box, scores[found.scale_index], found)
        return {"target_bbox": box, "flag": found.flag, "max_score": found.max_score}

    # Helpers -----------------------------------------------------------------------------

    def _sample_box(self, pos: torch.Tensor, size: torch.Tensor, sample_pos: torch.Tensor, scale) -> torch.Tensor:
        """The box [x, y, w, h] of a target at ``pos`` of ``size`` in the pixels of the sample
        centred on ``sample_pos`` with ``scale``; pixel-index geometry, as published."""
        box_centre = (pos - sample_pos) / scale + (self.sample_sz - 1) / 2
        box_size = size / scale
        return pixel_cxcywh_to_xywh(torch.cat([box_centre, box_size]))

    def _clamped_scale(self, scale: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(scale, dtype=torch.float32).clamp(self.min_scale_factor, self.max_scale_factor)

    def _clamped_position(self, pos: torch.Tensor) -> torch.Tensor:
        # At least 20% of the target's width and height inside the image (published expression).
        inside_offset = (0.2 - 0.5) * self.target_sz
        return torch.max(torch.min(pos, self.image_sz - inside_offset), inside_offset)

    def _update_state(self, new_pos: torch.Tensor, new_scale: torch.Tensor | None = None) -> None:
        if new_scale is not None:
            self.target_scale = self._clamped_scale(new_scale)
            self.target_sz = self.base_target_sz * self.target_scale
        self.pos = self._clamped_position(new_pos)

    def _refine(self, features: dict[str, torch.Tensor], sample_pos: torch.Tensor, scale: torch.Tensor,
                update_scale: bool) -> None:
        init_box = self._sample_box(self.pos, self.target_sz, sample_pos, scale)
        window = None
        if self.params.get("iou_window_margin") is not None:
            # Only the features the refined boxes can reach: the box and a margin around it.
            margin = float(self.params.iou_window_margin) * float(init_box[2:].prod().sqrt())
            corners = xywh_to_xyxy(init_box)
            window = (torch.cat([corners[:2] - margin, corners[2:] + margin]) / self.sample_sz[0]).tolist()
        if window is None:
            # The published whole map's values, computed only in the cells the boxes read.
            maps = self.net.lazy_modulated_iou_features(self.modulation, features)
        else:
            modulated = self.net.modulated_iou_features(self.modulation, self.net.iou_features(features, window))

            def maps(boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
                return modulated
        device = self.net.device

        def predict(boxes: torch.Tensor) -> torch.Tensor:
            boxes = boxes.to(device)
            return self.net.predict_iou_modulated(maps(boxes), boxes)

        def iou_and_gradient(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            boxes = boxes.to(device)
            return self.net.predict_iou_and_gradient(maps(boxes), boxes)

        result = refine(predict, init_box, self.refinement, self.generator, iou_and_gradient=iou_and_gradient)
        if result is None:
            return
        box = result[0].cpu()
        # As published: the box centre taken as x + w / 2 against the sample centre (S - 1) / 2.
        new_pos = (xywh_to_cxcywh(box)[:2] - (self.sample_sz - 1) / 2) * scale + sample_pos
        self.target_sz = box[2:] * scale
        new_scale = torch.sqrt(self.target_sz.prod() / self.base_target_sz.prod())
        if self.params.get("clamp_refined_state", False):
            new_pos, new_scale = self._clamped_position(new_pos), self._clamped_scale(new_scale)
        self.pos_iounet = new_pos.clone()
        self.pos = new_pos
        if update_scale:
            self.target_scale = new_scale
