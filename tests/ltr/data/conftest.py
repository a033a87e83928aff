import os

import cv2
import numpy as np
import pytest
import torch

from ltr.data.image_loader import LazyFrame, imread


class FakeVideoDataset:
    """In-memory sequences in the dataset interface: frame f of sequence s is an image whose
    pixel (0, 0) holds (s, f, 0), with the target as a white rectangle at its box."""

    def __init__(self, root, visible: list[list[bool]], *, name: str = "fake", size=(64, 48), video=True,
                 broken: set[tuple[int, int]] = frozenset()):
        self.root, self.visible, self.name, self.size, self.video = root, visible, name, size, video
        self.broken = broken
        self.boxes = []
        for s, flags in enumerate(visible):
            n = len(flags)
            xs = torch.linspace(5, size[0] - 25, n)
            self.boxes.append(torch.stack([xs, torch.full((n,), 10.0), torch.full((n,), 16.0), torch.full((n,), 12.0)], 1))

    def get_name(self):
        return self.name

    def is_video_sequence(self):
        return self.video

    def get_num_sequences(self):
        return len(self.visible)

    def get_sequence_info(self, seq_id):
        visible = torch.tensor(self.visible[seq_id])
        return {"bbox": self.boxes[seq_id], "valid": torch.ones_like(visible), "visible": visible}

    def frame_path(self, seq_id, frame_id):
        path = self.root / f"{self.name}_{seq_id}_{frame_id}.png"
        if not path.exists():
            # Loader workers may ask for the same frame at once: write it whole, then rename.
            temporary = path.with_name(f".{path.stem}.{os.getpid()}.png")
            if (seq_id, frame_id) in self.broken:
                temporary.write_bytes(b"not an image")
            else:
                image = np.zeros((self.size[1], self.size[0], 3), np.uint8)
                x, y, w, h = self.boxes[seq_id][frame_id].round().int().tolist()
                image[y:y + h, x:x + w] = 255
                image[0, 0] = (seq_id, frame_id, 0)
                cv2.imwrite(str(temporary), image[..., ::-1])
            os.replace(temporary, path)
        return str(path)

    def get_frames(self, seq_id, frame_ids, anno=None, *, lazy=False):
        anno = self.get_sequence_info(seq_id) if anno is None else anno
        paths = [self.frame_path(seq_id, f) for f in frame_ids]
        frames = [LazyFrame(p, imread) if lazy else imread(p) for p in paths]
        return frames, {k: [v[f].clone() for f in frame_ids] for k, v in anno.items()}, {"object_class_name": "thing"}


@pytest.fixture
def fake_dataset(tmp_path):
    def make(visible, **kwargs):
        return FakeVideoDataset(tmp_path, visible, **kwargs)
    return make
