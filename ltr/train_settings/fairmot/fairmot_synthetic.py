"""FairMOT on the generated synthetic MOT dataset, on a CPU: the small network ``fairmot_tiny``
trained from scratch with FairMOT's pipeline, loss and optimiser::

    python -m ltr.dataset.synthetic --mot      # once: writes the dataset into synthetic_mot_dir
    python ltr/run_training.py fairmot fairmot_synthetic

The dataset's train sequences are converted to FairMOT's labels (``ltr.dataset.mot.convert``
``mot_to_labels``: ``gen_labels_16.py``'s rules) into ``<workspace_dir>/fairmot_synthetic_data``
(``images/train`` links to the sequences, ``labels_with_ids/train``, a list file and a data
config), read as FairMOT reads its data. What a CPU needs instead of FairMOT's defaults:
``fairmot_tiny`` (reid_dim 64, head_conv 64), the input letterboxed to ``input_size`` 320 x 256
(the frames' 4:3 with 16 rows of padding), a batch of 4, one loader worker, every 2nd frame
listed (``FRAME_STEP``: neighbouring frames are near copies), the rate 3e-3 (from scratch, few
steps) with the step before the last epoch, and milder affine augmentation than FairMOT's (the
synthetic camera is fixed: degrees +-2, translate 0.05, shear +-1), with the scale drawn from
0.9-1.5 (the small network finds walkers larger than 320 x 256 makes them better). The final
checkpoint is copied into ``network_path`` as ``fairmot_synthetic.pth.tar``, which the tracker's
``synthetic`` parameters load (at a larger input, 416 x 320: see that file).

On the default dataset (4 train sequences of 150 frames, 640x480: 300 listed images, 205
identities with nID), two shared cores (OMP_NUM_THREADS=1), the training is compute-bound
(about 150 ms a sample forward and backward; loading is 16 ms a sample), so what a run of about
four minutes buys is about 1500 samples: the number of steps mattered more than anything else.
HOTA / IDF1 / MOTA (percent) of the tracker on the two validation sequences (the best
conf_thres / input size tried for each network), by recipe:

- 384 x 288, batch 8, lr 1e-3, 5 epochs of every 3rd frame, FairMOT's affine (the first
  recipe, 125 steps, 3m34s; final hm loss 1.47): 22.0 / 27.0 / -2.9 (conf 0.2; 1.5 / 0.6 at 0.4);
- 320 x 256, batch 4, lr 1e-3, 5 epochs of every 2nd frame, mild affine (375 steps): 25.7 /
  32.8 / 21.8, hm loss 1.19;
- the same with lr 3e-3: 30.4 / 39.6 / 28.0, hm loss 1.04;
- and the scale drawn from 0.9-1.5 instead of 0.8-1.2 (this recipe): 31.6 / 40.0 / 28.4 (one seed
  each: the difference is small);
- lr 6e-3: hm loss 1.68 after 3 epochs against 1.40 (stopped);
- 384 x 288, batch 4, lr 3e-3, 4 epochs (300 steps, 5m20s shared): 22.4 / 26.9 / 2.6;
- 256 x 192, batch 4, lr 3e-3, 8 epochs (600 steps, 4m50s alone; hm loss 0.92): 23.9 / 28.8 /
  -33.0 (conf 0.3 at 320 x 256; 22.5 / 25.0 / 9.4 at 0.4 at its own size): small walkers;
- lr 3e-3, scale 0.8-1.2 with head_conv 32 and 16 channels at stride 4 (0.70 M parameters,
  3m22s): 14.2 / 12.6 / -17.1, hm loss 1.47.

This recipe took 3m43s on two cores (nothing else running), 75 iterations an epoch; the epoch
means of the loss (total / hm / wh / off / id), epochs 1-5:
12.14 / 1.96 / 2.62 / 0.27 / 4.88, 8.03 / 1.64 / 1.34 / 0.25 / 4.09, 6.10 / 1.42 / 1.17 / 0.24 / 3.81,
4.78 / 1.23 / 1.04 / 0.23 / 3.57, 4.07 / 1.09 / 1.00 / 0.23 / 3.39. With the ``synthetic``
parameters: HOTA 31.6, IDF1 40.0, MOTA 28.4, 9.9 frames/s with two workers (SORT 47.5 / 55.1 /
63.1 and ByteTrack 59.2 / 73.3 / 74.7 on the dataset's public detections): the detector is what
falls short first (DetA 31.0 against 63.8: 892 false positives and 3852 misses; AssA 32.7
against 55.0).
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
FRAME_STEP = 2  # every 2nd training frame


def configure(settings) -> None:
    base.configure(settings)
    settings.network = "fairmot_tiny"
    settings.network_kwargs = {"num_classes": 1, "reid_dim": 64, "head_conv": 64, "ltrb": True}
    settings.load_model = None  # nothing pretrained
    settings.input_size = [320, 256]
    settings.batch_size = 4
    settings.num_workers = 1  # two cores: one loads and augments, the other steps the network
    settings.print_interval = 25
    settings.keep_checkpoints = 2
    settings.epochs = 5
    settings.learning_rate = 3e-3
    settings.lr_milestones = [4]
    settings.affine = {"degrees": [-2, 2], "translate": [0.05, 0.05], "scale": [0.9, 1.5], "shear": [-1, 1]}
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
