"""ImageNet-VID (ILSVRC2015), its training part:

    Annotations/VID/train/<set>/<video>/000000.xml ...   one XML file per frame
    Data/VID/train/<set>/<video>/000000.JPEG ...         frames

Each XML file gives the image size and the objects of the frame: track id, WordNet id
(``<name>``), box corners and an occluded flag. Every object track is one sequence, from the
first to the last frame it appears in; frames inside that range where it is missing have
``valid`` False.

Parsing the ~1.1 million XML files takes a while, so the tracks are written once to a JSON
cache, ``cache.json`` in the root (or, where the root cannot be written or its ``cache.json``
belongs to another tool, a file in ``env_settings().workspace_dir``), and read from it later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from admin.environment import env_settings, resolve_dataset_root
from ltr.data.image_loader import imread
from ltr.data.boxes import box_is_valid, xyxy_to_xywh
from ltr.dataset.base_video_dataset import BaseVideoDataset, LRUCache, empty_meta, group_by_class
from ltr.dataset.check import missing_file, missing_folder
from ltr.fileio import atomic_write_text

logger = logging.getLogger(__name__)

CACHE_NAME = "cache.json"
CACHE_FORMAT = "tracking-toolkit ImagenetVID tracks"
CACHE_VERSION = 1
ANNOTATIONS = Path("Annotations", "VID", "train")
DATA = Path("Data", "VID", "train")
PROGRESS_SECONDS = 10.0


def parse_annotation(path: str | Path) -> tuple[tuple[int, int], list[dict[str, Any]]]:
    """Image size ``(width, height)`` and objects of one frame's XML file; each object has
    ``track``, ``class``, ``box`` (``[x, y, w, h]``) and ``occluded``."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise ValueError(f"{path}, line {error.position[0]}: not valid XML ({error}); replace the file") from None
    try:
        size = root.find("size")
        image_size = (int(size.findtext("width")), int(size.findtext("height")))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{path}: no valid <size><width>/<height>; replace the file") from None
    objects = []
    for number, element in enumerate(root.iter("object"), 1):
        try:
            box = element.find("bndbox")
            x0, x1, y0, y1 = (float(box.findtext(tag)) for tag in ("xmin", "xmax", "ymin", "ymax"))
            track = int(element.findtext("trackid"))
            name = element.findtext("name").strip()
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"{path}: object {number} lacks a valid <trackid>, <name> or "
                             f"<bndbox> xmin/xmax/ymin/ymax; replace the file") from None
        occluded = (element.findtext("occluded") or "0").strip() == "1"
        objects.append({"track": track, "class": name, "box": xyxy_to_xywh(np.array([x0, y0, x1, y1])).tolist(), "occluded": occluded})
    return image_size, objects


def list_videos(annotations: Path) -> list[str]:
    """``<set>/<video>`` of every video folder under ``Annotations/VID/train``, sorted."""
    videos = []
    for folder in sorted(annotations.iterdir()):
        if folder.is_dir():
            videos += [f"{folder.name}/{video.name}" for video in sorted(folder.iterdir()) if video.is_dir()]
    return videos


def video_tracks(folder: Path, video: str) -> list[dict[str, Any]]:
    """The object tracks of one video, as cache entries."""
    frames = sorted(folder.glob("*.xml"))
    tracks: dict[int, dict[str, Any]] = {}
    image_size = None
    for path in frames:
        try:
            frame = int(path.stem)
        except ValueError:
            raise ValueError(f"{path}: the file name is not a frame number") from None
        image_size, objects = parse_annotation(path)
        for obj in objects:
            track = tracks.setdefault(obj["track"], {"class": obj["class"], "frames": {}})
            track["frames"][frame] = (obj["box"], obj["occluded"])
    entries = []
    for track_id, track in sorted(tracks.items()):
        start, end = min(track["frames"]), max(track["frames"])
        boxes, occluded = [], []
        for frame in range(start, end + 1):
            box, occ = track["frames"].get(frame, ([0.0, 0.0, 0.0, 0.0], False))
            boxes.append(box)
            occluded.append(int(occ))
        set_name, video_name = video.split("/")
        entries.append({"set": set_name, "video": video_name, "track": track_id, "class": track["class"],
                        "start": start, "image_size": list(image_size), "boxes": boxes, "occluded": occluded})
    return entries


def build_tracks(annotations: Path, videos: list[str]) -> list[dict[str, Any]]:
    """Parse the XML files of ``videos``, logging progress."""
    started = last = time.monotonic()
    entries: list[dict[str, Any]] = []
    logger.info("ImagenetVID: parsing the annotations of %d videos in %s (once; the result is cached)",
                len(videos), annotations)
    for done, video in enumerate(videos, 1):
        entries += video_tracks(annotations / video, video)
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS or done == len(videos):
            last = now
            eta = (now - started) / done * (len(videos) - done)
            logger.info("ImagenetVID: %d/%d videos parsed, %d tracks, %.0f s elapsed, ETA %.0f s",
                        done, len(videos), len(entries), now - started, eta)
    return entries


def _videos_digest(videos: list[str]) -> str:
    return hashlib.sha1("\n".join(videos).encode()).hexdigest()


class ImagenetVID(BaseVideoDataset):
    """ImageNet-VID training tracks, one sequence per object track.

    Args:
        root: the ILSVRC2015 folder holding ``Annotations/`` and ``Data/``; None:
            ``env_settings().imagenet_dir``.
        image_loader: reads a frame file into an RGB uint8 array.
        min_length: leave out tracks of fewer frames.
        max_target_area: leave out tracks whose mean box area, as a fraction of the image area
            (over frames with a valid box), exceeds this.

    ``get_sequence_info`` gives ``bbox``, ``valid`` (the object is annotated in the frame, with a
    proper box) and ``visible`` (valid and not marked occluded)."""

    env_field = "imagenet_dir"

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 min_length: int = 0, max_target_area: float = 1):
        root = str(resolve_dataset_root(root, self.env_field, "imagenetvid"))
        super().__init__("imagenetvid", root, image_loader)
        annotations = Path(root) / ANNOTATIONS
        if not annotations.is_dir():
            raise FileNotFoundError(f"{annotations} is missing: the ImageNet-VID root must be the ILSVRC2015 "
                                    f"folder holding Annotations/VID/train; set {self.env_field} or pass root")
        videos = list_videos(annotations)
        entries = self._load_or_build(annotations, videos)
        self.min_length = min_length
        self.max_target_area = max_target_area
        kept = []
        for entry in entries:
            boxes = np.asarray(entry["boxes"], dtype=np.float32).reshape(-1, 4)
            width, height = entry["image_size"]
            valid = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
            area = float(np.mean(boxes[valid, 2] * boxes[valid, 3])) / (width * height) if valid.any() else 0.0
            if len(boxes) >= min_length and area <= max_target_area:
                kept.append({**entry, "boxes": boxes, "occluded": np.asarray(entry["occluded"]).astype(bool)})
        self.sequence_list = kept
        self._seq_per_class = group_by_class([entry["class"] for entry in kept])
        self.class_list = sorted(self._seq_per_class)
        self._info_cache = LRUCache()
        logger.info("%s: %d of %d tracks kept (min_length %d, max_target_area %g) from %d videos in %s",
                    self.name, len(kept), len(entries), min_length, max_target_area, len(videos), root)

    def _load_or_build(self, annotations: Path, videos: list[str]) -> list[dict[str, Any]]:
        digest = _videos_digest(videos)
        in_root = Path(self.root) / CACHE_NAME
        root_state, entries = self._read_cache(in_root, digest)
        if entries is not None:
            return entries
        in_workspace = self._workspace_cache()
        _, entries = self._read_cache(in_workspace, digest)
        if entries is not None:
            return entries
        entries = build_tracks(annotations, videos)
        text = json.dumps({"format": CACHE_FORMAT, "format_version": CACHE_VERSION, "videos": len(videos),
                           "videos_digest": digest, "sequences": entries}, separators=(",", ":"))
        if root_state != "foreign":
            try:
                atomic_write_text(in_root, text)
                logger.info("ImagenetVID: tracks cached in %s", in_root)
                return entries
            except OSError as error:
                logger.info("ImagenetVID: cannot write %s (%s): caching in the workspace instead", in_root, error)
        else:
            logger.info("ImagenetVID: %s belongs to another tool; caching in the workspace instead", in_root)
        atomic_write_text(in_workspace, text)
        logger.info("ImagenetVID: tracks cached in %s", in_workspace)
        return entries

    def _workspace_cache(self) -> Path:
        key = hashlib.sha1(str(Path(self.root).resolve()).encode()).hexdigest()[:12]
        return Path(env_settings().workspace_dir) / f"imagenetvid_cache_{key}.json"

    @staticmethod
    def _read_cache(path: Path, digest: str) -> tuple[str, list[dict[str, Any]] | None]:
        """(state, entries): state is 'missing', 'foreign', 'stale' or 'ok'."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return "missing", None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            logger.warning("ImagenetVID: cannot read the cache %s (%s): rebuilding it", path, error)
            return "stale", None
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return "foreign", None
        if data.get("format_version") != CACHE_VERSION or data.get("videos_digest") != digest:
            logger.info("ImagenetVID: the cache %s is out of date (format or video list changed): rebuilding it", path)
            return "stale", None
        logger.info("ImagenetVID: reading tracks from the cache %s", path)
        return "ok", data["sequences"]

    def verify_tree(self) -> list[str]:
        """No tracks, or a video whose frame folder or first frame is missing (each video once:
        its tracks share the folder)."""
        if self.get_num_sequences() == 0:
            return [f"{self.name}: no tracks in {self.root}"]
        first_frames = {}
        for seq_id in range(self.get_num_sequences()):
            path = Path(self.frame_path(seq_id, 0))
            first_frames.setdefault(path.parent, path)
        problems = []
        for folder, frame in first_frames.items():
            if missing_folder(folder):
                problems.append(f"{self.name}: video {folder.parent.name}/{folder.name} has no frame folder {folder}")
            elif missing_file(frame):
                problems.append(f"{self.name}: {frame} is missing")
        return problems

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def get_sequence_name(self, seq_id: int) -> str:
        self._check_seq_id(seq_id)
        entry = self.sequence_list[seq_id]
        return f"{entry['set']}/{entry['video']} track {entry['track']}"

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        if class_name not in self._seq_per_class:
            raise KeyError(f"{self.name} has no sequence of class {class_name!r}")
        return list(self._seq_per_class[class_name])

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        info = self._info_cache.get(seq_id, lambda: self._sequence_info(seq_id))
        return {key: value.clone() for key, value in info.items()}

    def _sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        self._check_seq_id(seq_id)
        entry = self.sequence_list[seq_id]
        bbox = torch.from_numpy(entry["boxes"].copy())
        valid = box_is_valid(bbox)
        visible = valid & ~torch.from_numpy(entry["occluded"].copy())
        return {"bbox": bbox, "valid": valid, "visible": visible}

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        self._check_seq_id(seq_id)
        entry = self.sequence_list[seq_id]
        return str(Path(self.root) / DATA / entry["set"] / entry["video"] / f"{entry['start'] + frame_id:06d}.JPEG")

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        self._check_seq_id(seq_id)
        meta = empty_meta()
        meta["object_class_name"] = self.sequence_list[seq_id]["class"]
        return meta
