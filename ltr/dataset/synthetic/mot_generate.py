"""Writing synthetic multi-object sequences in the MOTChallenge layout, so the MOTChallenge
loaders read them:

    <out>/synthetic_mot.json             the options the dataset was made with
    <out>/train/SYN-T001/
        seqinfo.ini                      [Sequence] name, imDir=img1, frameRate, seqLength,
                                         imWidth, imHeight, imExt=.jpg
        img1/000001.jpg ...              frames
        gt/gt.txt                        frame, id, x, y, w, h, mark, class, visibility
        det/det.txt                      frame, -1, x, y, w, h, score, -1, -1, -1
    <out>/val/SYN-V001/...               the same

Boxes follow MOTChallenge's convention: 1-based pixels, the image's first pixel spans [1, 2), so
a box in the files is the toolkit's box (first pixel [0, 1)) shifted by +1 in x and y. A
ground-truth box is the whole object's box, occluded parts included, clipped to the frame: it
lies within x in [1, imWidth + 1], y in [1, imHeight + 1]. Ground truth holds a row per frame for
every walker at least partly inside the frame (class 1, mark 1, visibility 0 when fully hidden)
and for every static occluder (class 9, mark 0: never scored). Rows are sorted by identity, then
frame, as in MOT17; det.txt by frame, then falling score.

Sequence i of a split depends only on (seed, split, i), as in the single-object generator
(:mod:`ltr.dataset.synthetic.generate`): byte-identical files whatever the number of workers;
each sequence is written into a hidden ``.partial`` folder and renamed into place, so an
interrupted run leaves only whole sequences and running again resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path

import numpy as np

from ltr.data.box_files import MotRows, read_mot_rows, write_mot_rows
from ltr.data.boxes import box_iou
from ltr.dataset.synthetic.generate import generate_splits
from ltr.dataset.synthetic.mot import PEDESTRIAN, MotConfig, MotPlan
from ltr.fileio import atomic_write_text

logger = logging.getLogger(__name__)

SPLITS = {"train": "SYN-T{:03d}", "val": "SYN-V{:03d}"}
SPLIT_IDS = {"train": 10, "val": 11}  # apart from the single-object generator's 0 and 1
INFO_FILE = "synthetic_mot.json"
FORMAT_VERSION = 1
MOT_PIXEL_OFFSET = 1.0  # MOTChallenge files count pixels from 1


def mot_sequence_name(split: str, index: int) -> str:
    """Name of the index-th (0-based) sequence of a split."""
    return SPLITS[split].format(index + 1)


def mot_sequence_plan(config: MotConfig, seed: int, split: str, index: int) -> MotPlan:
    """The plan of the index-th (0-based) sequence of a split: what generation renders."""
    return MotPlan(config, np.random.SeedSequence([seed, SPLIT_IDS[split], index]))


def _to_file_boxes(boxes: np.ndarray) -> np.ndarray:
    shifted = np.array(boxes, np.float64).reshape(-1, 4)
    shifted[:, :2] += MOT_PIXEL_OFFSET
    return shifted


def write_mot_sequence(folder: Path, plan: MotPlan, name: str) -> None:
    """Render every frame of ``plan`` and write the sequence's files into ``folder``."""
    config = plan.config
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    (folder / "det").mkdir()
    frames = []
    for t in range(config.frames):
        frame = plan.render(t)
        (folder / "img1" / f"{t + 1:06d}.jpg").write_bytes(plan.encode(frame.image))
        frame.image = None  # the detector needs only the labels; keep memory flat
        frames.append(frame)
    frame_numbers = np.concatenate([np.full(len(f.ids), t + 1) for t, f in enumerate(frames)] + [np.zeros(0)])
    ids = np.concatenate([f.ids for f in frames] + [np.zeros(0, np.int64)])
    boxes = np.concatenate([f.boxes for f in frames] + [np.zeros((0, 4))])
    classes = np.concatenate([f.classes for f in frames] + [np.zeros(0, np.int64)])
    visibility = np.concatenate([f.visibility for f in frames] + [np.zeros(0)])
    order = np.lexsort((frame_numbers, ids))
    marks = (classes == PEDESTRIAN).astype(np.float64)
    # Visibility rounded as the files hold it, so that reading back gives the written value.
    gt = MotRows(frame_numbers[order], ids[order], _to_file_boxes(boxes[order]), marks[order],
                 np.stack([classes[order], np.round(visibility[order], 6)], 1))
    write_mot_rows(folder / "gt" / "gt.txt", gt, score_decimals=0)  # the mark: 0 or 1, as in MOT17
    detections = plan.detections(frames)
    count = len(detections)
    det = MotRows(detections[:, 0], np.full(count, -1), _to_file_boxes(detections[:, 1:5]), detections[:, 5],
                  np.full((count, 3), -1.0))
    write_mot_rows(folder / "det" / "det.txt", det)
    atomic_write_text(folder / "seqinfo.ini", (
        "[Sequence]\n"
        f"name={name}\n"
        "imDir=img1\n"
        f"frameRate={config.frame_rate}\n"
        f"seqLength={config.frames}\n"
        f"imWidth={config.width}\n"
        f"imHeight={config.height}\n"
        "imExt=.jpg\n"))


def _generate_mot_sequence(task: tuple[str, MotConfig, int, str, int]) -> str:
    root, config, seed, split, index = task
    name = mot_sequence_name(split, index)
    final = Path(root) / split / name
    partial = final.with_name(f".{name}.partial")
    write_mot_sequence(partial, mot_sequence_plan(config, seed, split, index), name)
    os.replace(partial, final)
    return name


@dataclasses.dataclass
class MotSplitSummary:
    sequences: int
    frames: int
    boxes: int  # pedestrian ground-truth rows
    identities: int
    occluded: int  # pedestrian rows under 50% visible
    detections: int
    recall: float  # pedestrian rows with a detection of IoU >= 0.5, over pedestrian rows


@dataclasses.dataclass
class MotDatasetSummary:
    root: Path
    options: dict
    splits: dict[str, MotSplitSummary]
    generated: int
    seconds: float

    def format(self) -> str:
        lines = [f"synthetic MOT dataset in {self.root} ({self.options['width']}x{self.options['height']}, "
                 f"seed {self.options['seed']}, textures: {self.options['textures']})"]
        for split, s in self.splits.items():
            lines.append(
                f"  {split:<5} {s.sequences:4d} sequences {s.frames:7d} frames {s.boxes:8d} boxes "
                f"{s.identities:5d} identities: {s.occluded / max(1, s.boxes):5.1%} under half visible, "
                f"{s.detections} detections, detector recall {s.recall:.1%}")
        lines.append(f"  {self.generated} sequences written in {self.seconds:.1f} s")
        return "\n".join(lines)


def summarize_mot_split(folder: Path, names: list[str], config: MotConfig) -> MotSplitSummary:
    """Counts over a written split, read back through the one MOT reader."""
    frames = boxes = identities = occluded = detections = matched = 0
    for name in names:
        sequence = folder / name
        count = len(list((sequence / "img1").glob("*.jpg")))
        if count != config.frames:
            raise ValueError(f"{sequence}: {count} frames, expected {config.frames}; generate it again")
        gt = read_mot_rows(sequence / "gt" / "gt.txt", what="ground truth")
        det = read_mot_rows(sequence / "det" / "det.txt", what="detections")
        people = gt.select(gt.classes == PEDESTRIAN)
        frames += count
        boxes += len(people)
        identities += len(np.unique(people.id))
        occluded += int((people.visibility < 0.5).sum())
        detections += len(det)
        for t in np.unique(people.frame):
            here, found = people.select(people.frame == t), det.select(det.frame == t)
            if len(found):
                matched += int((box_iou(here.box[:, None], found.box[None]).max(1) >= 0.5).sum())
    return MotSplitSummary(len(names), frames, boxes, identities, occluded, detections, matched / max(1, boxes))


def generate_mot_dataset(out: str | Path, *, seed: int = 0, train: int = 4, val: int = 2,
                         config: MotConfig = MotConfig(), workers: int | None = None,
                         force: bool = False) -> MotDatasetSummary:
    """Write ``train`` and ``val`` multi-object sequences under ``out`` (see the module's docstring).

    A folder already holding this dataset with the same options is completed, not rewritten;
    one made with other options is replaced only with ``force``; a folder with other files is
    refused."""
    started = time.monotonic()
    root = Path(out).expanduser().resolve()
    counts = {"train": train, "val": val}
    options, written = generate_splits(root, info_file=INFO_FILE, format_version=FORMAT_VERSION, seed=seed,
                                       counts=counts, config=config, name=mot_sequence_name,
                                       generate=_generate_mot_sequence, what="MOT sequences", workers=workers,
                                       force=force, started=started)
    splits = {split: summarize_mot_split(root / split, [mot_sequence_name(split, i) for i in range(count)], config)
              for split, count in counts.items()}
    return MotDatasetSummary(root, options, splits, written, time.monotonic() - started)
