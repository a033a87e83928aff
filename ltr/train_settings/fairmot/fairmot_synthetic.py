"""FairMOT on the generated synthetic MOT dataset, on a CPU: the small network ``fairmot_tiny``
trained from scratch with FairMOT's pipeline, loss and optimiser::

    python -m ltr.dataset.synthetic --mot      # once: writes the dataset into synthetic_mot_dir
    python ltr/run_training.py fairmot fairmot_synthetic

The dataset's train sequences are converted to FairMOT's labels (``ltr.dataset.mot.convert``
``mot_to_labels``: ``gen_labels_16.py``'s rules) into ``<workspace_dir>/fairmot_synthetic_data``
(``images/train`` links to the sequences, ``labels_with_ids/train``, a list file and a data
config), read as FairMOT reads its data. What a CPU needs instead of FairMOT's defaults:
``fairmot_tiny`` (reid_dim 64, head_conv 64), the input letterboxed to ``input_size`` 384 x 288
(the frames' 4:3, no padding), a batch of 8, one loader worker, a higher rate (from scratch,
few steps) with the step before the last epoch, and every 3rd frame listed (``FRAME_STEP``:
neighbouring frames are near copies). The final checkpoint is copied into ``network_path`` as
``fairmot_synthetic.pth.tar``, which the tracker's ``synthetic`` parameters load.

On the default dataset (4 train sequences of 150 frames, 640x480: 200 listed images, 205
identities with nID) it took 3m34s on two shared cores (OMP_NUM_THREADS=1), 25 iterations an
epoch; the epoch means of the loss (total / hm / wh / off / id), epochs 1-5:
14.69 / 2.02 / 4.44 / 0.30 / 5.26, 12.79 / 1.88 / 2.47 / 0.26 / 4.99, 11.42 / 1.72 / 1.42 / 0.26 / 4.79,
10.28 / 1.56 / 1.23 / 0.25 / 4.53, 9.70 / 1.47 / 1.20 / 0.25 / 4.39.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from admin.environment import resolve_dataset_root
from ltr.dataset.mot.convert import mot_to_labels
from ltr.dataset.mot.jde import JdeDataset
from ltr.dataset.mot.motchallenge import list_sequence_folders
from ltr.fileio import atomic_write_text
from ltr.train_settings.fairmot import base

logger = logging.getLogger(__name__)

GENERATE_HINT = "generate it with: python -m ltr.dataset.synthetic --mot"
PUBLISHED_FILE = "fairmot_synthetic.pth.tar"
DATA_FOLDER = "fairmot_synthetic_data"
FRAME_STEP = 3  # every 3rd training frame


def configure(settings) -> None:
    base.configure(settings)
    settings.network = "fairmot_tiny"
    settings.network_kwargs = {"num_classes": 1, "reid_dim": 64, "head_conv": 64, "ltrb": True}
    settings.load_model = None  # nothing pretrained
    settings.input_size = [384, 288]
    settings.batch_size = 8
    settings.num_workers = 1  # two cores: one loads and augments, the other steps the network
    settings.print_interval = 25
    settings.keep_checkpoints = 2
    settings.epochs = 5
    settings.learning_rate = 1e-3
    settings.lr_milestones = [4]
    settings.data_config = None  # written by convert_synthetic


def convert_synthetic(dataset_root: Path, out: Path, *, frame_step: int = FRAME_STEP) -> Path:
    """FairMOT's layout of the synthetic dataset's train sequences in ``out``; returns its data
    config. ``images/train`` links to ``<dataset_root>/train``; labels, list and config are
    written (atomically) on every call, so a regenerated dataset is taken up."""
    out.mkdir(parents=True, exist_ok=True)
    images = out / "images"
    images.mkdir(exist_ok=True)
    link = images / "train"
    target = (dataset_root / "train").resolve()
    if link.is_symlink() and link.resolve() != target:
        link.unlink()
    if not link.is_symlink():
        try:
            link.symlink_to(target, target_is_directory=True)
        except FileExistsError:  # another rank made it
            pass
    identities = mot_to_labels(dataset_root / "train", out / "labels_with_ids" / "train")
    listed = []
    for folder in list_sequence_folders(dataset_root / "train"):
        frames = sorted(p.name for p in (folder / "img1").iterdir() if p.suffix in (".jpg", ".png"))
        listed += [f"images/train/{folder.name}/img1/{name}" for name in frames[::frame_step]]
    atomic_write_text(out / "synthetic.train", "\n".join(listed) + "\n")
    config = out / "synthetic.json"
    atomic_write_text(config, json.dumps({"root": str(out), "train": {"synthetic": "synthetic.train"},
                                          "test_emb": {}, "test": {}}, indent=1) + "\n")
    logger.info("synthetic MOT train sequences as FairMOT data: %d images, %d identities in %s", len(listed),
                identities, out)
    return config


def training_data(settings) -> JdeDataset:
    root = resolve_dataset_root(settings.env.synthetic_mot_dir, "synthetic_mot_dir", hint=GENERATE_HINT)
    config = convert_synthetic(root, Path(settings.env.workspace_dir) / DATA_FOLDER)
    return JdeDataset(config, section="train")


def run(settings) -> None:
    configure(settings)
    trainer = base.train(settings, training_data)
    if settings.is_main_process:
        trainer.publish(Path(settings.env.network_path) / PUBLISHED_FILE)
