"""Evaluation sequences: frame paths, ground truth and the box a tracker starts from.

Boxes are ``[x, y, w, h]`` floats in pixels (top-left corner). Rows of the ground truth may be
NaN where the benchmark has no box for a frame (UAV123, for one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence as SequenceABC
from typing import SupportsIndex, overload

import numpy as np


@dataclasses.dataclass
class Annotation:
    """What a sequence's annotation files give, returned by a ground-truth loader (see
    :class:`Sequence`): the boxes, and the frame paths and visibility flags where they too come
    from the annotation (frames numbered by its rows, flags from label files)."""

    ground_truth_rect: np.ndarray
    frames: SequenceABC[str] | None = None
    target_visible: np.ndarray | None = None


class Sequence:
    """One evaluation sequence.

    Args:
        name: the sequence's name, unique within its dataset (result files are named by it).
        frames: paths of the frame images, in order; nothing checks that they exist. None where a
            ground-truth loader gives them.
        dataset: the name of the dataset the sequence belongs to (``"otb"``, ``"got10k"``...).
        ground_truth_rect: ``(N, 4)`` boxes ``[x, y, w, h]``, one row per frame, or ``(1, 4)`` when
            the benchmark publishes only the first frame's box (``first_frame_only=True``). Or a
            loader: a callable without arguments returning the boxes or an :class:`Annotation`,
            called when the ground truth, frames or flags are first used, so that listing a
            dataset reads no annotation file (its errors appear when that sequence is used). A
            loader must pickle (a module-level function or a ``functools.partial`` of one) where
            sequences go to worker processes.
        object_class: the target's class, where the benchmark names it.
        target_visible: ``(N,)`` bools, whether the target is visible in each frame.
        init_box: the box the tracker starts from; the first ground-truth row when not given.
        anno_path: the annotation file the ground truth came from (named in errors).
        first_frame_only: the benchmark holds only the first frame's box (GOT-10k test,
            TrackingNet test); then ``ground_truth_rect`` has exactly one row.

    Raises:
        ValueError: the ground truth or the visibility flags do not match the frames (on first
            use, for a loader).
    """

    def __init__(self, name: str, frames: SequenceABC[str] | None, dataset: str,
                 ground_truth_rect: np.ndarray | SequenceABC | Callable[[], np.ndarray | Annotation],
                 *, object_class: str | None = None, target_visible=None,
                 init_box: SequenceABC[float] | None = None, anno_path: str | None = None,
                 first_frame_only: bool = False):
        self.name = name
        self.dataset = dataset
        self.object_class = object_class
        self.anno_path = None if anno_path is None else str(anno_path)
        self.first_frame_only = first_frame_only
        if init_box is not None:
            init_box = [float(v) for v in init_box]
            if len(init_box) != 4:
                raise ValueError(f"sequence {name!r}: init_box must be [x, y, w, h], got {init_box}")
        self.init_box = init_box
        self._frames: list[str] | None = None
        self._ground_truth_rect: np.ndarray | None = None
        self._target_visible: np.ndarray | None = None
        self._loader = None
        if callable(ground_truth_rect):
            self._loader = ground_truth_rect
            self._pending = (frames, target_visible)
        else:
            self._set(frames, ground_truth_rect, target_visible)

    def _set(self, frames, ground_truth_rect, target_visible) -> None:
        """Check and store the annotation (the constructor's checks, for given and loaded values)."""
        name, dataset = self.name, self.dataset
        if frames is None:
            raise ValueError(f"sequence {name!r} ({dataset}): no frame paths were given")
        frames = [str(frame) for frame in frames]
        source = f"annotation file {self.anno_path}" if self.anno_path else "its ground truth"
        boxes = np.asarray(ground_truth_rect, dtype=np.float64)
        if boxes.ndim == 1 and boxes.size == 4:
            boxes = boxes.reshape(1, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"sequence {name!r} ({dataset}): ground truth from {source} has shape "
                             f"{boxes.shape}, expected (frames, 4) boxes x, y, w, h")
        expected = 1 if self.first_frame_only else len(frames)
        if boxes.shape[0] != expected:
            what = "only the first frame's box" if self.first_frame_only else f"one box per frame ({len(frames)} frames)"
            raise ValueError(f"sequence {name!r} ({dataset}): {source} has {boxes.shape[0]} boxes, "
                             f"expected {what}; fix or replace the file")
        if target_visible is not None:
            target_visible = np.asarray(target_visible, dtype=np.bool_).reshape(-1)
            if target_visible.shape[0] != len(frames):
                raise ValueError(f"sequence {name!r} ({dataset}): {target_visible.shape[0]} visibility flags "
                                 f"for {len(frames)} frames; check the sequence's label files")
        self._frames, self._ground_truth_rect, self._target_visible = frames, boxes, target_visible

    def _load(self) -> None:
        if self._loader is None:
            return
        frames, visible = self._pending
        loaded = self._loader()
        if isinstance(loaded, Annotation):
            frames = loaded.frames if loaded.frames is not None else frames
            visible = loaded.target_visible if loaded.target_visible is not None else visible
            loaded = loaded.ground_truth_rect
        self._set(frames, loaded, visible)
        # Only a successful load is kept: a failed one raises again on the next use.
        self._loader = self._pending = None

    @property
    def loaded(self) -> bool:
        """Whether the annotation has been read (always, for a sequence built from arrays)."""
        return self._loader is None

    @property
    def frames(self) -> list[str]:
        self._load()
        return self._frames

    @frames.setter
    def frames(self, value: SequenceABC[str]) -> None:
        self._load()
        self._frames = [str(frame) for frame in value]

    @property
    def ground_truth_rect(self) -> np.ndarray:
        self._load()
        return self._ground_truth_rect

    @ground_truth_rect.setter
    def ground_truth_rect(self, value) -> None:
        self._load()
        self._ground_truth_rect = np.asarray(value, dtype=np.float64)

    @property
    def target_visible(self) -> np.ndarray | None:
        self._load()
        return self._target_visible

    @target_visible.setter
    def target_visible(self, value) -> None:
        self._load()
        self._target_visible = None if value is None else np.asarray(value, dtype=np.bool_).reshape(-1)

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        # A repr must not read annotation files (or fail on a missing one).
        frames = len(self._frames) if self._frames is not None else "not loaded"
        return f"Sequence(name={self.name!r}, dataset={self.dataset!r}, frames={frames})"

    def init_info(self) -> dict[str, list[float]]:
        """What the tracker is initialised with: ``{"init_bbox": [x, y, w, h]}``.

        Raises:
            ValueError: the box is missing (NaN), not finite, or not of positive width and
                height; the message names the sequence and its annotation file.
        """
        if self.init_box is not None:
            box, source = np.asarray(self.init_box, dtype=np.float64), "its init_box"
        else:
            box = self.ground_truth_rect[0]
            source = f"the first ground-truth row of {self.anno_path or 'its ground truth'}"
            if np.all(np.isnan(box)):
                raise ValueError(f"sequence {self.name!r} ({self.dataset}): the first frame has no ground-truth box "
                                 f"({box.tolist()}) in {self.anno_path or 'its ground truth'}; pass init_box")
        # A tracker cannot start from an empty or infinite box; OpenCV would fail an assertion.
        if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"sequence {self.name!r} ({self.dataset}): the initial box {box.tolist()} from {source} "
                             f"is not a box of positive width and height; fix that row (x, y, w, h)")
        return {"init_bbox": [float(v) for v in box]}

    def frame_info(self, index: int) -> dict:
        """What the tracker is given with frame ``index`` besides the image: nothing for a
        single-object sequence (a multi-object sequence hands its public detections here)."""
        return {}


class SequenceList(list):
    """A list of :class:`Sequence` that can also be indexed by sequence name."""

    def __init__(self, sequences: Iterable[Sequence] = ()):
        super().__init__(sequences)

    @overload
    def __getitem__(self, item: str) -> Sequence: ...
    @overload
    def __getitem__(self, item: SupportsIndex) -> Sequence: ...
    @overload
    def __getitem__(self, item: slice) -> SequenceList: ...

    def __getitem__(self, item):
        if isinstance(item, str):
            for sequence in self:
                if sequence.name == item:
                    return sequence
            raise KeyError(f"no sequence named {item!r} in this list of {len(self)} sequences")
        result = super().__getitem__(item)
        return SequenceList(result) if isinstance(item, slice) else result

    def names(self) -> list[str]:
        return [sequence.name for sequence in self]

    def __add__(self, other: Iterable[Sequence]) -> SequenceList:
        return SequenceList(list(self) + list(other))
