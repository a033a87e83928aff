"""The track-list rules that ByteTrack and FairMOT (JDE) share, as both publish them
(``joint_stracks``, ``sub_stracks``, ``remove_duplicate_stracks``, ``iou_distance``).

A track here is any object with ``track_id``, ``box`` (``[x, y, w, h]``), ``frame_id`` and
``start_frame``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from ltr.data.boxes import box_iou_plus_one

T = TypeVar("T")


class TrackState(enum.Enum):
    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


def iou_distance(a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
    """``1 - IoU`` of every box of ``a`` with every box of ``b``, with the +1 pixel convention of
    ``cython_bbox``: (len(a), len(b))."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    return box_iou_distance(np.stack([t.box for t in a]), np.stack([t.box for t in b]))


def box_iou_distance(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """:func:`iou_distance` of (N, 4) and (M, 4) ``[x, y, w, h]`` boxes already stacked: (N, M)."""
    if len(boxes_a) == 0 or len(boxes_b) == 0:
        return np.zeros((len(boxes_a), len(boxes_b)))
    return 1.0 - box_iou_plus_one(boxes_a[:, None, :], boxes_b[None, :, :])


def joint(a: Iterable[T], b: Iterable[T]) -> list[T]:
    """Every track of a, then the tracks of b whose identity is not yet there (the published
    ``joint_stracks``: a is kept whole, b is checked against a and against itself)."""
    result = list(a)
    seen = {track.track_id for track in result}
    for track in b:
        if track.track_id not in seen:
            seen.add(track.track_id)
            result.append(track)
    return result


def without(a: Iterable[T], ids: set[int]) -> list[T]:
    """a without the identities in ids, one track per identity (the published dict semantics:
    the first position, the last track)."""
    by_id: dict[int, T] = {}
    for track in a:
        by_id[track.track_id] = track
    return [track for tid, track in by_id.items() if tid not in ids]


def remove_duplicates(tracked: list[T], lost: list[T], max_distance: float, *,
                      boxes_of: Callable[[list[T]], np.ndarray] | None = None) -> tuple[list[T], list[T]]:
    """A tracked and a lost track closer than ``max_distance`` in IoU distance (strictly) are one
    object twice: the one tracked for the shorter time (``frame_id - start_frame``) is dropped,
    the tracked one on a tie. ``boxes_of``: the tracks' boxes stacked, (N, 4), where a tracker
    keeps them stacked already (the same values as the tracks' ``box``); by default stacked here."""
    if boxes_of is None or not tracked or not lost:
        distance = iou_distance(tracked, lost)
    else:
        distance = box_iou_distance(boxes_of(tracked), boxes_of(lost))
    drop_tracked, drop_lost = set(), set()
    for p, q in zip(*np.nonzero(distance < max_distance)):
        age_p = tracked[p].frame_id - tracked[p].start_frame
        age_q = lost[q].frame_id - lost[q].start_frame
        if age_p > age_q:
            drop_lost.add(int(q))
        else:
            drop_tracked.add(int(p))
    if not drop_tracked and not drop_lost:
        return list(tracked), list(lost)
    return ([t for i, t in enumerate(tracked) if i not in drop_tracked],
            [t for i, t in enumerate(lost) if i not in drop_lost])


def end_of_frame(tracked: list[T], lost: list[T], removed_ids: set[int], *, frame_id: int, max_time_lost: int,
                 duplicate_iou_distance: float, activated: list[T], refound: list[T], newly_lost: list[T],
                 newly_removed: list[T], boxes_of: Callable[[list[T]], np.ndarray] | None = None
                 ) -> tuple[list[T], list[T]]:
    """The published end of a frame (``update``'s last steps in both trackers), from the lists
    before the frame and what the frame did; returns the new (tracked, lost) lists:

    - lost tracks unmatched for more than ``max_time_lost`` frames are removed;
    - tracked: those still tracked, then the activated, then the found again (:func:`joint`);
    - lost: the lost without the tracked identities, then the newly lost, without the identities
      removed before this frame (a lost track removed now leaves the list in the next frame, as
      published); this frame's removed identities join ``removed_ids`` (updated in place);
    - then :func:`remove_duplicates` (given ``boxes_of``)."""
    for track in lost:
        if frame_id - track.frame_id > max_time_lost:
            track.state = TrackState.REMOVED
            newly_removed.append(track)
    tracked = joint(joint([t for t in tracked if t.state == TrackState.TRACKED], activated), refound)
    lost = without(lost, {t.track_id for t in tracked})
    lost.extend(newly_lost)
    lost = without(lost, removed_ids)
    removed_ids.update(t.track_id for t in newly_removed)
    return remove_duplicates(tracked, lost, duplicate_iou_distance, boxes_of=boxes_of)
