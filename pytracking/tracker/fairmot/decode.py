"""FairMOT's input and output of the network, rule by rule as published (github.com/ifzhang/FairMOT,
``src/lib/datasets/dataset/jde.py`` ``letterbox`` / ``LoadImages``, ``src/lib/models/decode.py``
``mot_decode``, ``src/lib/utils/post_process.py`` ``ctdet_post_process`` and
``src/lib/tracker/multitracker.py`` ``JDETracker.update``, step 1).

Input (:func:`prepare_input`): the frame letterboxed to the network's input size (published: a
fixed ``img_size`` of 1088 x 608 for every MOT model, whatever ``input_h`` / ``input_w`` say):
the training pipeline's letterbox (:func:`ltr.data.fairmot.letterbox`: scaled by ``min(h_in / h,
w_in / w)`` with ``cv2.INTER_AREA``, padded evenly with grey 127.5), RGB, divided by 255 (no mean
or standard deviation).

Output (:func:`decode_detections`):

- the heatmap through a sigmoid, then peaks: a value kept where it equals the 3 x 3 max-pool
  (stride 1, padding 1) of the map, zero elsewhere (``_nms``);
- the ``K`` highest values over all classes (per class the ``K`` best, then the ``K`` best of
  those), at integer output cells ``(x, y)``;
- centres ``(x + reg_x, y + reg_y)`` with the offset head (``reg_offset``), ``(x + 0.5, y + 0.5)``
  without; boxes ``[cx - l, cy - t, cx + r, cy + b]`` from the size head with ``ltrb``, else
  ``[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]``, all in output cells;
- back to the frame's pixels by the inverse of CenterNet's affine transform with centre
  ``c = (W / 2, H / 2)`` and scale ``s = max(w_in / h_in * H, W)`` to the output map
  ``(w_in / 4, h_in / 4)`` (``get_affine_transform(c, s, 0, (w_out, h_out), inv=1)``, built by
  ``cv2.getAffineTransform`` from float32 points, applied in float64, stored in float32); the
  letterbox's scale and centring are thereby undone;
- the detections of the first class (the published tracker reads ``dets[1]``), kept when their
  score is above ``conf_thres`` (strictly);
- the identity embeddings: the ``id`` head L2-normalised over channels (``F.normalize``: divided by
  ``max(norm, 1e-12)``) and read at the kept peaks, float32.

The published ``merge_outputs`` keeps the ``K`` best scores when there are more than ``K``; the
two-stage top-K never gives more, so it does nothing and is not repeated here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ltr.data.fairmot import image_tensor, letterbox
from ltr.models.fairmot.heads import gather_at


@dataclass
class FrameDetections:
    """A frame's detections: ``boxes`` (N, 4) ``[x0, y0, x1, y1]`` float32 in the frame's pixels,
    ``scores`` (N,) float32, ``embeddings`` (N, D) float32 of unit length; ordered by score."""

    boxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def prepare_input(image: np.ndarray, input_size: tuple[int, int]) -> torch.Tensor:
    """The network input for an RGB uint8 frame (H, W, 3): letterboxed to ``input_size`` (w, h),
    (1, 3, h, w) float32 in [0, 1]. The published loader letterboxes the BGR frame and then swaps
    to RGB; the letterbox treats the channels alike, so letterboxing the RGB frame is the same."""
    width, height = input_size
    boxed, _ = letterbox(image, width=width, height=height)
    return image_tensor(boxed).unsqueeze(0)


def sliding_max(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """The ``kernel`` x ``kernel`` max-pool of (B, C, H, W) ``heat`` with stride 1 and padding
    ``(kernel - 1) // 2`` (``F.max_pool2d``'s: the padding never wins): the same values, as the
    maximum is exact, computed as a row maximum then a column maximum of shifted views (several
    times faster than ``max_pool2d`` on one CPU thread for a 152 x 272 map)."""
    pad = (kernel - 1) // 2
    padded = F.pad(heat, (pad, pad, pad, pad), value=float("-inf"))
    height, width = heat.shape[-2:]
    rows = padded[..., 0:width]
    for shift in range(1, kernel):
        rows = torch.maximum(rows, padded[..., shift:shift + width])
    pooled = rows[..., 0:height, :]
    for shift in range(1, kernel):
        pooled = torch.maximum(pooled, rows[..., shift:shift + height, :])
    return pooled


def heatmap_peaks(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """``heat`` where it equals its ``kernel`` x ``kernel`` max-pool, 0 elsewhere (``_nms``: the
    map times the mask, as published)."""
    return heat * (sliding_max(heat, kernel) == heat).to(heat.dtype)


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, ...]:
    """The published two-stage ``_topk``: per class the ``k`` best cells, then the ``k`` best of
    those. (B, C, H, W) -> scores, flat cell indices, classes, ys, xs, each (B, k); ys and xs are
    whole output cells as floats."""
    batch, classes, height, width = scores.shape
    class_scores, class_inds = torch.topk(scores.view(batch, classes, -1), k)
    class_inds = class_inds % (height * width)
    class_ys = torch.div(class_inds, width, rounding_mode="floor").float()
    class_xs = (class_inds % width).float()
    best, best_ind = torch.topk(class_scores.view(batch, -1), k)
    best_classes = torch.div(best_ind, k, rounding_mode="floor")
    inds = class_inds.view(batch, -1).gather(1, best_ind)
    ys = class_ys.view(batch, -1).gather(1, best_ind)
    xs = class_xs.view(batch, -1).gather(1, best_ind)
    return best, inds, best_classes, ys, xs


def _boxes_at(xs: torch.Tensor, ys: torch.Tensor, inds: torch.Tensor, size: torch.Tensor,
              reg: torch.Tensor | None, *, ltrb: bool) -> torch.Tensor:
    """(B, n, 4) ``[x0, y0, x1, y1]`` in output cells at the cells ``inds`` (B, n) whose whole
    coordinates are ``xs``, ``ys`` (B, n): the centre ``(x + reg_x, y + reg_y)`` (``(x + 0.5,
    y + 0.5)`` without ``reg``) and the size head's distances (``ltrb``) or width and height."""
    batch, count = inds.shape
    if reg is not None:
        offset = gather_at(reg, inds)
        xs = xs.view(batch, count, 1) + offset[:, :, 0:1]
        ys = ys.view(batch, count, 1) + offset[:, :, 1:2]
    else:
        xs = xs.view(batch, count, 1) + 0.5
        ys = ys.view(batch, count, 1) + 0.5
    sizes = gather_at(size, inds)
    if ltrb:
        return torch.cat([xs - sizes[..., 0:1], ys - sizes[..., 1:2], xs + sizes[..., 2:3], ys + sizes[..., 3:4]], 2)
    return torch.cat([xs - sizes[..., 0:1] / 2, ys - sizes[..., 1:2] / 2,
                      xs + sizes[..., 0:1] / 2, ys + sizes[..., 1:2] / 2], 2)


def mot_decode(heat: torch.Tensor, size: torch.Tensor, reg: torch.Tensor | None, *, ltrb: bool,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes at the heatmap's peaks in output cells (``mot_decode``). ``heat`` (B, C, H, W) after
    the sigmoid; ``size`` (B, 4 or 2, H, W); ``reg`` (B, 2, H, W) or None. Returns (B, k, 6)
    ``[x0, y0, x1, y1, score, class]`` ordered by score and the flat cell indices (B, k)."""
    batch, _, height, width = heat.shape
    # At most every cell (the published code needs k <= H * W; a tiny test map may have fewer).
    scores, inds, classes, ys, xs = top_k(heatmap_peaks(heat), min(k, height * width))
    k = scores.shape[1]
    boxes = _boxes_at(xs, ys, inds, size, reg, ltrb=ltrb)
    return torch.cat([boxes, scores.view(batch, k, 1), classes.view(batch, k, 1).float()], 2), inds


def output_to_frame_transform(frame_size: tuple[int, int], input_size: tuple[int, int],
                              down_ratio: int = 4) -> np.ndarray:
    """The (2, 3) affine matrix taking output-map cells to frame pixels, as the published
    ``get_affine_transform(c, s, 0, (w_out, h_out), inv=1)`` builds it: three float32 point pairs
    (the centres, a point half the width above them, and that point turned by 90 degrees) through
    ``cv2.getAffineTransform``. ``frame_size`` and ``input_size`` are (w, h)."""
    width, height = frame_size
    in_w, in_h = input_size
    out_w, out_h = in_w // down_ratio, in_h // down_ratio
    centre = np.array([width / 2.0, height / 2.0], dtype=np.float32)
    scale = np.float32(max(float(in_w) / float(in_h) * height, width))

    def third(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        direction = a - b
        return b + np.array([-direction[1], direction[0]], dtype=np.float32)

    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = centre
    src[1] = centre + np.array([0.0, scale * -0.5], dtype=np.float32)
    dst[0] = [out_w * 0.5, out_h * 0.5]
    dst[1] = np.array([out_w * 0.5, out_h * 0.5], np.float32) + np.array([0, out_w * -0.5], np.float32)
    src[2] = third(src[0], src[1])
    dst[2] = third(dst[0], dst[1])
    return cv2.getAffineTransform(dst, src)


def to_frame_pixels(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(N, 2) output-map points through the (2, 3) ``transform`` (``transform_preds``): the points
    as float32, the product in float64."""
    points = np.asarray(points, dtype=np.float32)
    homogeneous = np.concatenate([points, np.ones((len(points), 1), dtype=np.float32)], axis=1)
    return homogeneous.astype(np.float64) @ transform.T


def decode_detections(outputs: dict[str, torch.Tensor], frame_size: tuple[int, int], input_size: tuple[int, int],
                      *, conf_thres: float, k: int = 500, ltrb: bool = True, reg_offset: bool = True,
                      down_ratio: int = 4) -> FrameDetections:
    """The detections of one frame from the network's head outputs (batch of one): ``outputs``
    holds ``hm`` (logits), ``wh``, ``reg`` and ``id``; ``frame_size`` is the frame's (w, h),
    ``input_size`` the network input's (w, h). See the module's rules.

    Heads on the CPU are decoded by :func:`decode_on_cpu` (numpy around the one top-K), others by
    :func:`decode_with_torch`; both give the same arrays."""
    if all(value.device.type == "cpu" for value in outputs.values()):
        return decode_on_cpu(outputs, frame_size, input_size, conf_thres=conf_thres, k=k, ltrb=ltrb,
                             reg_offset=reg_offset, down_ratio=down_ratio)
    return decode_with_torch(outputs, frame_size, input_size, conf_thres=conf_thres, k=k, ltrb=ltrb,
                             reg_offset=reg_offset, down_ratio=down_ratio)


@functools.lru_cache(maxsize=16)
def _cached_transform(frame_size: tuple[int, int], input_size: tuple[int, int], down_ratio: int) -> np.ndarray:
    transform = output_to_frame_transform(frame_size, input_size, down_ratio)
    transform.setflags(write=False)
    return transform


def _in_frame(boxes: np.ndarray, frame_size: tuple[int, int], input_size: tuple[int, int],
              down_ratio: int) -> np.ndarray:
    """(N, 4) float32 boxes in output cells -> in the frame's pixels, float32."""
    transform = _cached_transform(tuple(int(v) for v in frame_size), tuple(int(v) for v in input_size),
                                  int(down_ratio))
    boxes = np.concatenate([to_frame_pixels(boxes[:, 0:2], transform), to_frame_pixels(boxes[:, 2:4], transform)],
                           axis=1).astype(np.float32)
    return boxes.reshape(-1, 4)


# Fewer elements than torch's grain size (32768): one call runs on one thread. A multiple of every
# vector width: each element sits where it sits in the whole map's vector blocks.
SIGMOID_CHUNK = 16384


def chunked_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """``logits.sigmoid()`` (float32, CPU), computed in chunks of :data:`SIGMOID_CHUNK` elements:
    each call is too small for torch to split over threads, which on cores shared with the
    network's spinning threads can cost more than the sigmoid itself. The values are the
    whole map's: torch's elementwise kernel handles each run of elements in vector blocks from its
    start (and the last partial block by a scalar path that may differ in the last bit), so
    chunks starting at multiples of every vector width put each element in the same place of the
    same kind of block as one call over the map does."""
    flat = logits.detach().float().contiguous().reshape(-1)
    out = torch.empty_like(flat)
    for start in range(0, flat.numel(), SIGMOID_CHUNK):
        torch.sigmoid(flat[start:start + SIGMOID_CHUNK], out=out[start:start + SIGMOID_CHUNK])
    return out.view(logits.shape)


_AROUND_Y = np.repeat(np.arange(-1, 2), 3)[None, :]
_AROUND_X = np.tile(np.arange(-1, 2), 3)[None, :]


def peaks_above(heat: np.ndarray, threshold: float, k: int) -> np.ndarray | None:
    """The flat cells of the published top-K peaks of a one-class sigmoid map ``heat`` (H, W)
    whose score is above ``threshold``, in top-K's order, found without ranking the whole map;
    None when that cannot be done exactly (then rank the map with ``topk``).

    A cell's peak value is its own where it equals the 3 x 3 maximum around it, else 0. Every
    peak above ``threshold`` is greater than every other peak value, so when there are at most
    ``k`` of them, top-K holds all of them, before the rest, in descending order; when their
    values are distinct that order is the only one, and sorting them gives it. Otherwise (more
    than ``k``, tied values whose order is ``topk``'s own, or NaN, which ``topk`` ranks first)
    None. Only cells above ``threshold`` (or NaN) are examined, each against its neighbours
    inside the map, which is the published max-pool's maximum (its padding never wins)."""
    height, width = heat.shape
    flat = heat.reshape(-1)
    cells = np.flatnonzero(~(flat <= threshold))  # above it, or NaN
    values = flat[cells]
    if np.isnan(values).any():
        return None
    # The 3 x 3 cells around each, clipped into the map: a clipped cell is the cell itself or
    # another of its neighbours inside the map, so the maximum is that over the neighbours inside.
    ys, xs = np.divmod(cells, width)
    around_ys = np.clip(ys[:, None] + _AROUND_Y, 0, height - 1)
    around_xs = np.clip(xs[:, None] + _AROUND_X, 0, width - 1)
    # np.max spreads NaN as the published max-pool does: a NaN neighbour makes the cell no peak.
    neighbourhood = flat[around_ys * width + around_xs].max(axis=1, initial=-np.inf)
    peaks = neighbourhood == values
    cells, values = cells[peaks], values[peaks]
    if len(cells) > k:
        return None
    order = np.argsort(-values, kind="stable")
    cells, values = cells[order], values[order]
    if np.any(values[1:] == values[:-1]):
        return None
    return cells


def decode_on_cpu(outputs: dict[str, torch.Tensor], frame_size: tuple[int, int], input_size: tuple[int, int],
                  *, conf_thres: float, k: int = 500, ltrb: bool = True, reg_offset: bool = True,
                  down_ratio: int = 4) -> FrameDetections:
    """:func:`decode_with_torch` for heads on the CPU, the same arrays, with less work:

    - the sigmoid is torch's over the whole map (:func:`chunked_sigmoid`), the published values:
      torch computes a run's last few values by a scalar path that may differ in the last bit
      from its vectorised one, so a sigmoid of some cells only need not give the same values;
      and peaks found on the logits could differ: two logits may round to one sigmoid value,
      both then peaks of the sigmoid map but one only of the logits;
    - with one class, the kept peaks by :func:`peaks_above` (only the cells above
      ``conf_thres``); when it cannot decide exactly, the published ranking
      (:func:`heatmap_peaks` and :func:`top_k` on the same float32 map), so that tied scores
      come out in ``topk``'s order;
    - boxes, scores and embeddings are read at the kept cells only: box arithmetic in float32 as
      torch does it, the embeddings (D, n) normalised over the channels by ``F.normalize``'s
      operations as :func:`decode_with_torch` does;
    - the affine transform is computed once per frame and input size."""
    heat_t = chunked_sigmoid(outputs["hm"])
    _, classes, height, width = heat_t.shape
    heat = heat_t.numpy()[0]
    k = min(k, height * width)
    cells = peaks_above(heat[0], conf_thres, k) if classes == 1 else None
    if cells is None:
        best, inds, best_classes, _, _ = top_k(heatmap_peaks(heat_t), k)
        cells = inds[0].numpy()[(best_classes[0].numpy() == 0) & (best[0].numpy() > conf_thres)]
    scores = heat.reshape(-1)[cells]  # class 0's cells
    xs = (cells % width).astype(np.float32)
    ys = (cells // width).astype(np.float32)
    sizes = outputs["wh"].detach().float().numpy().reshape(-1, height * width).take(cells, axis=1)
    if reg_offset:
        offset = outputs["reg"].detach().float().numpy().reshape(-1, height * width).take(cells, axis=1)
        cx, cy = xs + offset[0], ys + offset[1]
    else:
        cx, cy = xs + np.float32(0.5), ys + np.float32(0.5)
    if ltrb:
        boxes = np.stack([cx - sizes[0], cy - sizes[1], cx + sizes[2], cy + sizes[3]], axis=1)
    else:
        half_w, half_h = sizes[0] / np.float32(2), sizes[1] / np.float32(2)
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    ids = outputs["id"].detach().float().numpy()[0]
    # (D, n) C-contiguous, as index_select gives it: the layout decides the norm's summing order.
    # (Advanced indexing reads cell by cell, all channels: faster than take's channel by channel.)
    chosen = torch.from_numpy(np.ascontiguousarray(ids.reshape(ids.shape[0], -1)[:, cells]))
    # F.normalize(chosen, dim=0)'s very operations (``norm``, ``clamp_min``, then the division,
    # broadcast as its ``expand_as``), without its Python layers.
    embeddings = (chosen / chosen.norm(2, 0, True).clamp_min(1e-12)).t().numpy()
    return FrameDetections(_in_frame(boxes, frame_size, input_size, down_ratio), scores.astype(np.float32),
                           np.ascontiguousarray(embeddings, dtype=np.float32))


def decode_with_torch(outputs: dict[str, torch.Tensor], frame_size: tuple[int, int], input_size: tuple[int, int],
                      *, conf_thres: float, k: int = 500, ltrb: bool = True, reg_offset: bool = True,
                      down_ratio: int = 4) -> FrameDetections:
    """:func:`decode_detections` in torch on the heads' device (the straightforward path)."""
    heat = outputs["hm"].float().sigmoid()
    reg = outputs["reg"].float() if reg_offset else None
    height, width = heat.shape[-2:]
    scores, inds, classes, ys, xs = top_k(heatmap_peaks(heat), min(k, height * width))
    # The published code builds all K boxes and then keeps the first class's above conf_thres;
    # each box depends on its own cell only, so building just the kept ones gives the same boxes
    # in the same (top-K) order.
    scores = scores[0].cpu().numpy()
    keep = np.flatnonzero((classes[0].cpu().numpy() == 0) & (scores > conf_thres))
    keep_t = torch.from_numpy(keep).to(inds.device)
    inds = inds[:, keep_t]
    boxes = _boxes_at(xs[:, keep_t], ys[:, keep_t], inds, outputs["wh"].float(), reg, ltrb=ltrb)[0].cpu().numpy()
    # Normalised per cell over the channels as published (there over the whole map), here only at
    # the kept peaks: the same vectors, summed over the channels in the same order.
    ids = outputs["id"][0].float()
    # (index_select reads channel by channel: several times faster than advanced indexing.)
    embeddings = F.normalize(ids.reshape(ids.shape[0], -1).index_select(1, inds[0]), dim=0).t().cpu().numpy()
    return FrameDetections(_in_frame(boxes, frame_size, input_size, down_ratio), scores[keep].astype(np.float32),
                           np.ascontiguousarray(embeddings, dtype=np.float32))
