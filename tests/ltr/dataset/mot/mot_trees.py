"""Generated MOTChallenge, CrowdHuman trees in the real layouts, for the MOT data tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 64, 48


def write_image(path: Path, value: int = 100, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((size[1], size[0], 3), value, np.uint8)
    cv2.imwrite(str(path), image)


def write_sequence(folder: Path, name: str, length: int, gt_lines: list[str] | None, det_lines: list[str],
                   frames: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={length}\nimWidth={WIDTH}\n"
        f"imHeight={HEIGHT}\nimExt=.jpg\n")
    if frames:
        for n in range(1, length + 1):
            write_image(folder / "img1" / f"{n:06d}.jpg", 10 * n % 250)
    if gt_lines is not None:
        (folder / "gt").mkdir(exist_ok=True)
        (folder / "gt" / "gt.txt").write_text("".join(line + "\n" for line in gt_lines))
    (folder / "det").mkdir(exist_ok=True)
    (folder / "det" / "det.txt").write_text("".join(line + "\n" for line in det_lines))


def gt_rows(length: int, mot15: bool = False) -> list[str]:
    """Two pedestrians over every frame (ids 1, 2), a car (id 3, class 3) and an ignored (mark 0)
    person (id 4), sorted by id then frame as MOTChallenge's files are."""
    lines = []
    for identity, cls, mark, vis in ((1, 1, 1, 1.0), (2, 1, 1, 0.25), (3, 3, 0, 1.0), (4, 1, 0, 0.5)):
        for n in range(1, length + 1):
            x, y = 2.0 * identity + n, 3.0 + identity
            if mot15:
                lines.append(f"{n},{identity},{x},{y},10,20,1,-1,-1,-1")
            else:
                lines.append(f"{n},{identity},{x},{y},10,20,{mark},{cls},{vis}")
    return lines


def det_rows(length: int, offset: float = 0.0) -> list[str]:
    return [f"{n},-1,{5 + offset + n},6,11,21,0.{n % 9 + 1},-1,-1,-1" for n in range(1, length + 1)]


def make_benchmark(root: Path, benchmark: str = "MOT17", lengths=(5, 6), test_lengths=(4,)) -> Path:
    """``root/<benchmark>`` with train/ and test/; MOT17 in three detector copies."""
    base = root / benchmark
    copies = ("-DPM", "-FRCNN", "-SDP") if benchmark == "MOT17" else ("",)
    for split, sizes, has_gt in (("train", lengths, True), ("test", test_lengths, False)):
        for i, length in enumerate(sizes):
            number = 2 * i + (2 if split == "train" else 1)
            for k, copy in enumerate(copies):
                name = f"{benchmark}-{number:02d}{copy}"
                write_sequence(base / split / name, name, length,
                               gt_rows(length, benchmark == "MOT15") if has_gt else None, det_rows(length, 100 * k))
    return base


def make_crowdhuman(root: Path) -> Path:
    base = root / "CrowdHuman"
    records = [
        {"ID": "273271,1a0d6000b9e1f5b7", "gtboxes": [
            {"tag": "person", "fbox": [-3, 4, 20, 30], "vbox": [0, 4, 17, 30], "hbox": [5, 4, 6, 6],
             "extra": {"box_id": 0, "occ": 0}},
            {"tag": "mask", "fbox": [10, 10, 5, 5], "vbox": [10, 10, 5, 5], "hbox": [10, 10, 5, 5],
             "extra": {"ignore": 1}},
            {"tag": "person", "fbox": [30, 5, 12, 25], "vbox": [31, 5, 10, 20], "hbox": [33, 5, 5, 5],
             "head_attr": {"ignore": 0}, "extra": {"box_id": 2}}]},
        {"ID": "284193,faa9000f2678b5e", "gtboxes": [
            {"tag": "mask", "fbox": [1, 1, 5, 5], "vbox": [1, 1, 5, 5], "hbox": [1, 1, 2, 2], "extra": {"ignore": 1}}]},
    ]
    for split in ("train", "val"):
        (base / f"annotation_{split}.odgt").parent.mkdir(parents=True, exist_ok=True)
        (base / f"annotation_{split}.odgt").write_text("".join(json.dumps(r) + "\n" for r in records))
    for r in records:
        write_image(base / "Images" / f"{r['ID']}.jpg", 50, (80, 60))
    return base
