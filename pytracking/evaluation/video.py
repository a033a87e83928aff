"""Tracking through a video file or a camera (a ``cv2.VideoCapture`` source) frame by frame,
with optional result files: the boxes (one ``x,y,w,h`` row per frame) and an annotated video.
Multi-object trackers (:func:`track_video_mot`) run on detections given per frame and write
MOTChallenge rows instead, and draw each track in a colour fixed by its identity.

Both files grow under a temporary name (``<name>.txt.partial``, ``<stem>.partial.mp4``) and are
renamed into place when the run ends, so a crashed run leaves a file that says it is partial.
The entry scripts ``pytracking/run_video.py`` and ``pytracking/run_webcam.py`` add the windows.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from ltr.data.box_files import MotRows, format_box_rows, format_mot_rows, read_mot_rows, write_mot_rows
from ltr.data.boxes import xywh_to_xyxy
from pytracking.evaluation.loop import FrameLoop
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.outputs import MULTI_OBJECT, SINGLE_OBJECT

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0
QUIT_KEYS = (ord("q"), 27)  # q, Esc
RESELECT_KEY = ord("r")
BOX_COLOUR = (0, 255, 0)  # BGR

# select(frame_bgr) -> a box [x, y, w, h], or None when the user cancelled.
SelectFn = Callable[[np.ndarray], "list[float] | None"]
# show(annotated_bgr) -> the key pressed (cv2.waitKey's code, -1 for none).
ShowFn = Callable[[np.ndarray], int]


class VideoError(RuntimeError):
    """A video or camera that cannot be opened, read or written; the message names it."""


class SelectionCancelled(RuntimeError):
    """The user closed the box selection on the first frame without drawing a box."""


@dataclasses.dataclass
class VideoRunSummary:
    """What :func:`track_video` did. ``boxes`` (N, 4), ``times`` (N,) seconds of tracker calls."""

    source: str
    frames: int
    mean_fps: float
    boxes: np.ndarray
    times: np.ndarray
    results_file: Path | None = None
    video_file: Path | None = None
    stopped_early: bool = False
    reselections: int = 0

    def report(self) -> str:
        lines = [f"tracked {self.frames} frames of {self.source} at {self.mean_fps:.1f} fps (tracker calls only)"]
        if self.stopped_early:
            lines.append("stopped by the user before the end")
        if self.reselections:
            lines.append(f"box re-selected {self.reselections} times")
        if self.results_file is not None:
            lines.append(f"boxes: {self.results_file}")
        if self.video_file is not None:
            lines.append(f"annotated video: {self.video_file}")
        return "\n".join(lines)


def display_problem() -> str | None:
    """Why no window can be opened here, or None when one can."""
    match = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    if match is not None and match.group(1).upper() == "NONE":
        return "this OpenCV build has no GUI support (a headless build); install opencv-contrib-python"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display is available (DISPLAY and WAYLAND_DISPLAY are unset)"
    return None


def open_capture(source: str | Path | int) -> cv2.VideoCapture:
    """An opened capture of a video file or of camera number ``source``."""
    if isinstance(source, int):
        capture = cv2.VideoCapture(source)
        if not capture.isOpened():
            raise VideoError(f"could not open camera {source}: check that it is connected and not in use by "
                             f"another program, or try another index (--camera 1)")
        return capture
    path = Path(source)
    if not path.is_file():
        raise VideoError(f"no video file {path}: check the path")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(f"could not open video {path}: OpenCV cannot decode it (unsupported container or codec)")
    return capture


def check_init_box(box: Sequence[float], frame_shape: tuple[int, ...]) -> list[float]:
    """``box`` ``[x, y, w, h]`` as floats, checked to be a positive-size box inside the frame."""
    values = [float(v) for v in box]
    height, width = frame_shape[:2]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"init box {list(box)!r} is not four finite numbers x y w h")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise ValueError(f"init box {values} has a non-positive size (w={w:g}, h={h:g}): width and height must be > 0")
    _, _, x1, y1 = xywh_to_xyxy(np.asarray(values)).tolist()
    if x < 0 or y < 0 or x1 > width or y1 > height:
        raise ValueError(f"init box {values} (x y w h) is not inside the {width}x{height} frame: "
                         f"it needs 0 <= x, 0 <= y, x + w <= {width}, y + h <= {height}")
    return values


def annotate(frame_bgr: np.ndarray, box: Sequence[float], frame_index: int, fps: float | None) -> np.ndarray:
    """A copy of ``frame_bgr`` with ``box`` drawn and the frame number and fps written."""
    out = frame_bgr.copy()
    x0, y0, x1, y1 = xywh_to_xyxy(np.asarray(box, dtype=np.float64)).tolist()
    cv2.rectangle(out, (round(x0), round(y0)), (round(x1), round(y1)), BOX_COLOUR, 2)
    text = f"frame {frame_index}" + ("" if fps is None else f"  {fps:.1f} fps")
    scale = max(0.4, min(out.shape[:2]) / 600)
    # Dark outline under light text, readable on any background.
    for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (5, round(20 * scale) + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
                    cv2.LINE_AA)
    return out


def window_select(window: str) -> SelectFn:
    """A select function drawing the box with the mouse in ``window`` (``cv2.selectROI``):
    drag a rectangle, SPACE or ENTER accepts it, c cancels."""

    def select(frame_bgr: np.ndarray) -> list[float] | None:
        x, y, w, h = cv2.selectROI(window, frame_bgr, showCrosshair=True, fromCenter=False)
        return [float(x), float(y), float(w), float(h)] if w > 0 and h > 0 else None

    return select


def window_show(window: str) -> ShowFn:
    """A show function displaying each frame in ``window`` and returning the key pressed."""

    def show(frame_bgr: np.ndarray) -> int:
        cv2.imshow(window, frame_bgr)
        key = cv2.waitKey(1)
        return key & 0xFF if key >= 0 else -1

    return show


class _BoxFile:
    """Rows ``x,y,w,h`` flushed one by one to ``<path>.partial``, renamed to ``path`` at the end."""

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "w", encoding="utf-8")

    def write(self, box: Sequence[float]) -> None:
        self._file.write(format_box_rows([box], delimiter=","))
        self._file.flush()

    def finish(self) -> None:
        self._file.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self._file.close()


class _VideoFile:
    """An mp4v video written to ``<stem>.partial<suffix>``, renamed to ``path`` at the end."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        self.path = path
        # OpenCV picks the container from the extension, so the temporary name keeps it.
        self.partial = path.with_name(f"{path.stem}.partial{path.suffix or '.mp4'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"could not write video {self.partial} (mp4v, {size[0]}x{size[1]}, {fps:g} fps): "
                             f"this OpenCV build cannot encode it; use a .mp4 name or drop the video output")

    def write(self, frame_bgr: np.ndarray) -> None:
        self._writer.write(frame_bgr)

    def finish(self) -> None:
        self._writer.release()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self._writer.release()


def _source_name(source: str | Path | int | cv2.VideoCapture) -> str:
    if isinstance(source, int):
        return f"camera {source}"
    return "capture" if isinstance(source, cv2.VideoCapture) else str(source)


def track_video(tracker: Tracker, source: str | Path | int | cv2.VideoCapture, init_box: Sequence[float] | None = None,
                *, results_file: str | Path | None = None, video_file: str | Path | None = None,
                debug: int | None = None, select: SelectFn | None = None, show: ShowFn | None = None,
                log_every: float = 5.0, source_name: str | None = None) -> VideoRunSummary:
    """Track one target through ``source`` (a video path, a camera index or an opened capture).

    The target is ``init_box`` ``[x, y, w, h]`` on the first frame, or the box that
    ``select(first_frame_bgr)`` returns. ``show(annotated_bgr)`` (when given) is called on every
    frame and returns the key pressed: q or Esc stops, r calls ``select`` on that frame and
    re-initialises the tracker with its box. ``results_file`` gets one ``x,y,w,h`` row per frame,
    ``video_file`` the annotated frames (mp4v, the source's fps or 30 when unknown). Progress
    is logged every ``log_every`` seconds; ``source_name`` names the source in messages.

    Raises:
        VideoError: the source cannot be opened or read, or an output cannot be written.
        ValueError: the init box is not a positive-size box inside the first frame.
        SelectionCancelled: ``select`` returned None on the first frame.
    """
    if init_box is None and select is None:
        raise ValueError("no init box: give init_box [x, y, w, h] or a select function to draw one")
    owned = not isinstance(source, cv2.VideoCapture)
    capture = open_capture(source) if owned else source
    try:
        return _track_capture(tracker, capture, source_name or _source_name(source), init_box, results_file,
                              video_file, debug, select, show, log_every)
    finally:
        if owned:
            capture.release()


class _Stream:
    """The frames of an opened capture: its first frame read (or a :class:`VideoError`), the frame
    count and rate its header announces, every frame checked to have the first one's size, and
    a progress line every ``log_every`` seconds."""

    def __init__(self, capture: cv2.VideoCapture, name: str, log_every: float):
        self.name = name
        self._capture = capture
        self._log_every = log_every
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.total = total if total > 0 else None  # cameras and some streams do not know
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = source_fps if math.isfinite(source_fps) and 0 < source_fps <= 1000 else DEFAULT_FPS
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoError(f"could not read the first frame of {name}: the video is empty or its codec is not "
                             f"supported by this OpenCV build")
        self.first = frame
        self.shape = frame.shape

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.shape[1], self.shape[0]

    def frames(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, BGR frame)`` from the first frame to the last readable one."""
        started = last_log = time.perf_counter()
        frame, index = self.first, 0
        while True:
            if frame.shape != self.shape:
                raise VideoError(f"frame {index} of {self.name} is {frame.shape[1]}x{frame.shape[0]}, the first frame "
                                 f"{self.shape[1]}x{self.shape[0]}: frames of one video must have one size")
            yield index, frame
            index += 1
            now = time.perf_counter()
            if now - last_log >= self._log_every:
                last_log = now
                self._log_progress(index, index / max(now - started, 1e-9))
            ok, frame = self._capture.read()
            if not ok or frame is None:
                return

    def _log_progress(self, done: int, rate: float) -> None:
        if self.total is not None:
            eta = timedelta(seconds=round(max(self.total - done, 0) / rate))
            logger.info("%s: frame %d/%d (%.0f%%), %.1f frames/s, ETA %s", self.name, done, self.total,
                        100 * done / self.total, rate, eta)
        else:
            logger.info("%s: frame %d, %.1f frames/s", self.name, done, rate)

    def stopped_at(self, done: int) -> bool:
        """Whether quitting after ``done`` frames stops before the end."""
        return self.total is None or done < self.total


def _abandon(outputs) -> None:
    """Close the outputs of a run stopped by an error, saying where its partial results are."""
    for output in outputs:
        if output is not None:
            output.abandon()
            logger.warning("run stopped by an error: %s holds the frames done so far", output.partial)


def _track_capture(tracker: Tracker, capture: cv2.VideoCapture, name: str, init_box: Sequence[float] | None,
                   results_file: str | Path | None, video_file: str | Path | None, debug: int | None,
                   select: SelectFn | None, show: ShowFn | None, log_every: float) -> VideoRunSummary:
    if tracker.frame_output is not SINGLE_OBJECT:
        raise ValueError(f"{tracker.label} is a multi-object tracker; track_video follows one box: run it "
                         f"with track_video_mot and per-frame detections")
    loop = FrameLoop(tracker.build(debug=debug), label=tracker.label, source=name)
    stream = _Stream(capture, name, log_every)
    first_shape = stream.shape
    box = select(stream.first) if init_box is None else init_box
    if box is None:
        raise SelectionCancelled(f"no box was drawn on the first frame of {name}; nothing tracked")
    box = check_init_box(box, first_shape)

    boxes_out = _BoxFile(Path(results_file)) if results_file is not None else None
    video_out = None
    boxes: list[list[float]] = []
    times: list[float] = []
    stopped = False
    reselections = 0
    try:
        if video_file is not None:
            video_out = _VideoFile(Path(video_file), stream.fps, stream.size)
        for index, frame in stream.frames():
            image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            if index == 0:
                step = loop.initialize(image, {"init_bbox": box})
            else:
                step = loop.track(image, frame=index)
            box, elapsed = step.value.tolist(), step.seconds
            fps = 1.0 / elapsed if elapsed > 0 else None
            annotated = annotate(frame, box, index, fps)
            key = show(annotated) if show is not None else -1
            if key == RESELECT_KEY and select is not None:
                chosen = select(frame)
                if chosen is not None:
                    step = loop.initialize(image, {"init_bbox": check_init_box(chosen, first_shape)}, frame=index)
                    box, elapsed = step.value.tolist(), elapsed + step.seconds
                    annotated = annotate(frame, box, index, None)
                    reselections += 1
                    logger.info("re-initialised on frame %d with box %s", index, box)
            boxes.append(box)
            times.append(elapsed)
            if boxes_out is not None:
                boxes_out.write(box)
            if video_out is not None:
                video_out.write(annotated)
            if key in QUIT_KEYS:
                stopped = stream.stopped_at(index + 1)
                break
    except BaseException:
        _abandon((boxes_out, video_out))
        raise
    if stream.total is not None and not stopped and len(boxes) < stream.total:
        logger.warning("%s: read %d of the %d frames its header announces", name, len(boxes), stream.total)
    for output in (boxes_out, video_out):
        if output is not None:
            output.finish()
    seconds = float(np.sum(times))
    summary = VideoRunSummary(name, len(boxes), len(boxes) / seconds if seconds > 0 else float("inf"),
                              np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(times),
                              boxes_out.path if boxes_out else None, video_out.path if video_out else None,
                              stopped, reselections)
    logger.info("%s", summary.report().replace("\n", "; "))
    return summary


# ------------------------------------------------------------------------ multi-object trackers


@dataclasses.dataclass
class MotVideoRunSummary:
    """What :func:`track_video_mot` did. ``tracks`` (rows, 7) ``[frame, id, x, y, w, h, score]``
    with frames counted from 1, ``times`` (N,) seconds of tracker calls."""

    source: str
    frames: int
    mean_fps: float
    tracks: np.ndarray
    times: np.ndarray
    results_file: Path | None = None
    video_file: Path | None = None
    stopped_early: bool = False

    @property
    def identities(self) -> int:
        return len(np.unique(self.tracks[:, 1])) if len(self.tracks) else 0

    def report(self) -> str:
        lines = [f"tracked {self.frames} frames of {self.source} at {self.mean_fps:.1f} fps (tracker calls only): "
                 f"{len(self.tracks)} boxes in {self.identities} tracks"]
        if self.stopped_early:
            lines.append("stopped by the user before the end")
        if self.results_file is not None:
            lines.append(f"tracks (MOTChallenge): {self.results_file}")
        if self.video_file is not None:
            lines.append(f"annotated video: {self.video_file}")
        return "\n".join(lines)


def track_colour(identity: int) -> tuple[int, int, int]:
    """A BGR colour fixed by ``identity``: hues spaced by the golden ratio, so that close ids differ."""
    hue = int((identity * 0.618033988749895 % 1.0) * 180)  # OpenCV's hue runs 0..179
    hsv = np.array([[[hue, 220, 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].tolist()
    return int(b), int(g), int(r)


def _outlined_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float,
                   colour: tuple[int, int, int] = (255, 255, 255)) -> None:
    # Dark outline under the text, readable on any background.
    for ink, thickness in (((0, 0, 0), 3), (colour, 1)):
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)


def annotate_tracks(frame_bgr: np.ndarray, tracks: np.ndarray, frame_index: int, fps: float | None) -> np.ndarray:
    """A copy of ``frame_bgr`` with each track ``[id, x, y, w, h, score]`` drawn in its identity's
    colour with the id written above it, and the frame number, track count and fps."""
    out = frame_bgr.copy()
    scale = max(0.4, min(out.shape[:2]) / 600)
    for row in np.asarray(tracks, dtype=np.float64).reshape(-1, 6):
        identity = int(row[0])
        colour = track_colour(identity)
        x0, y0, x1, y1 = (round(v) for v in xywh_to_xyxy(row[1:5]).tolist())
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 2)
        _outlined_text(out, str(identity), (x0, max(y0 - 4, round(12 * scale))), scale, colour)
    text = f"frame {frame_index}  {len(tracks)} tracks" + ("" if fps is None else f"  {fps:.1f} fps")
    _outlined_text(out, text, (5, round(20 * scale) + 5), scale)
    return out


def read_video_detections(path: str | Path) -> dict[int, np.ndarray]:
    """A MOTChallenge detection file (``frame,id,x,y,w,h,score,...``, frames counted from 1 as the
    video's frame index + 1) as ``{frame index from 0: (N, 5) [x, y, w, h, score]}``."""
    rows = read_mot_rows(path, what="detection file", positive_size=True)
    detections: dict[int, np.ndarray] = {}
    for frame in np.unique(rows.frame):
        mask = rows.frame == frame
        detections[int(frame) - 1] = np.column_stack([rows.box[mask], rows.score[mask]])
    return detections


class _MotFile:
    """MOTChallenge rows appended frame by frame to ``<path>.partial`` (what a crashed run leaves);
    at the end the whole result is written to ``path`` by ``write_mot_rows`` and the partial removed."""

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "w", encoding="utf-8")

    def write(self, rows: MotRows) -> None:
        self._file.write(format_mot_rows(rows))
        self._file.flush()

    def finish(self, rows: MotRows) -> None:
        self._file.close()
        write_mot_rows(self.path, rows)
        self.partial.unlink()

    def abandon(self) -> None:
        self._file.close()


def _mot_rows(tracks: np.ndarray) -> MotRows:
    """Stacked ``[frame, id, x, y, w, h, score]`` rows as MOTChallenge result rows (world x, y, z -1)."""
    tracks = np.asarray(tracks, dtype=np.float64).reshape(-1, 7)
    return MotRows(tracks[:, 0], tracks[:, 1], tracks[:, 2:6], tracks[:, 6], np.full((len(tracks), 3), -1.0))


def track_video_mot(tracker: Tracker, source: str | Path | int | cv2.VideoCapture,
                    detections: dict[int, np.ndarray] | str | Path | None, *, results_file: str | Path | None = None,
                    video_file: str | Path | None = None, debug: int | None = None, show: ShowFn | None = None,
                    log_every: float = 5.0, source_name: str | None = None) -> MotVideoRunSummary:
    """Track every object of ``source`` with a multi-object tracker on given detections.

    ``detections`` is ``{frame index from 0: (N, 5) [x, y, w, h, score]}`` or the path of a
    MOTChallenge detection file (:func:`read_video_detections`); a frame without detections gets
    none; None for a tracker that detects the objects itself (Tracktor in private mode): the
    frames' info then holds no detections. ``results_file`` gets MOTChallenge rows ``frame,id,x,y,w,h,score,-1,-1,-1`` (frames from
    1), ``video_file`` the frames with each track in its identity's colour. ``show`` as in
    :func:`track_video` (q or Esc stops; there is no re-selection).

    Raises:
        VideoError: the source cannot be opened or read, or an output cannot be written.
        ValueError: ``tracker`` is a single-object tracker.
        BoxFileError: the detection file is missing or malformed (the message names file and line).
    """
    if tracker.frame_output is not MULTI_OBJECT:
        raise ValueError(f"{tracker.label} is a single-object tracker: run it with track_video and an init box")
    if detections is not None and not isinstance(detections, dict):
        detections = read_video_detections(detections)
    owned = not isinstance(source, cv2.VideoCapture)
    capture = open_capture(source) if owned else source
    try:
        return _track_capture_mot(tracker, capture, source_name or _source_name(source), detections, results_file,
                                  video_file, debug, show, log_every)
    finally:
        if owned:
            capture.release()


def _track_capture_mot(tracker: Tracker, capture: cv2.VideoCapture, name: str, detections: dict[int, np.ndarray] | None,
                       results_file: str | Path | None, video_file: str | Path | None, debug: int | None,
                       show: ShowFn | None, log_every: float) -> MotVideoRunSummary:
    loop = FrameLoop(tracker.build(debug=debug), label=tracker.label, source=name)
    stream = _Stream(capture, name, log_every)
    tracks_out = _MotFile(Path(results_file)) if results_file is not None else None
    video_out = None
    values: list[np.ndarray] = []
    times: list[float] = []
    stopped = False
    try:
        if video_file is not None:
            video_out = _VideoFile(Path(video_file), stream.fps, stream.size)
        for index, frame in stream.frames():
            image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            info = {} if detections is None else {"detections": detections.get(index, np.zeros((0, 5)))}
            step = loop.initialize(image, info) if index == 0 else loop.track(image, frame=index, info=info)
            tracks, elapsed = step.value, step.seconds
            annotated = annotate_tracks(frame, tracks, index, 1.0 / elapsed if elapsed > 0 else None)
            key = show(annotated) if show is not None else -1
            values.append(tracks)
            times.append(elapsed)
            if tracks_out is not None:
                tracks_out.write(_mot_rows(np.column_stack([np.full(len(tracks), index + 1.0), tracks])))
            if video_out is not None:
                video_out.write(annotated)
            if key in QUIT_KEYS:
                stopped = stream.stopped_at(index + 1)
                break
    except BaseException:
        _abandon((tracks_out, video_out))
        raise
    beyond = sorted(f for f in (detections or {}) if f >= len(values))
    if beyond and not stopped:
        logger.warning("%s: the detections name frames up to %d, the video has %d frames; those detections were "
                       "not used", name, beyond[-1] + 1, len(values))
    stacked = MULTI_OBJECT.stack(values)
    if tracks_out is not None:
        tracks_out.finish(_mot_rows(stacked))
    if video_out is not None:
        video_out.finish()
    seconds = float(np.sum(times))
    summary = MotVideoRunSummary(name, len(values), len(values) / seconds if seconds > 0 else float("inf"), stacked,
                                 np.asarray(times), tracks_out.path if tracks_out else None,
                                 video_out.path if video_out else None, stopped)
    logger.info("%s", summary.report().replace("\n", "; "))
    return summary
