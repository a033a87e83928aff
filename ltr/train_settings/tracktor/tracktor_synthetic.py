"""Tracktor's two networks on the generated synthetic MOT dataset, on a CPU: the small detector
(``faster_rcnn_tiny``), then the ReID network (``reid_synthetic``), in one run folder::

    python -m ltr.dataset.synthetic --mot      # once: writes the dataset into synthetic_mot_dir
    python ltr/run_training.py tracktor tracktor_synthetic

The detector recipe is mmtracking's (faster_rcnn_r50_fpn_4e_mot17_half: the same pipeline,
optimiser, warm-up and step schedule) with what a CPU and no pretrained weights require: the tiny
network at its test scale 384 (so Resize 384 x 0.8-1.2 and RandomCrop 384), 4 images a batch,
and 6 epochs instead of 4 (from scratch it needs the steps), the step before the last as
published. The synthetic dataset's train sequences are converted to the COCO-video format by the MOTChallenge converter (``ltr.dataset.mot.convert``) into
``<workspace_dir>/synthetic_mot_annotations``; bbox AP is measured on every third frame of its
val sequences after each epoch, and Tracktor's track metrics (parameters ``synthetic``, without
ReID, which trains afterwards) after the last.

On the default dataset (4 train sequences of 150 frames, 640x480) the detector trains in about
5.5 minutes on two idle cores; bbox AP on the val frames after epochs 1-6: 0.018, 0.17, 0.28,
0.28, 0.37, 0.40 (AP50 0.73, AP75 0.40 at the end).
(8 epochs with the step at 7 took 8.5 minutes for AP 0.42 (AP50 0.74); 4 gave 0.26: 6 leave
the MOT quick start, which trains FairMOT too, within its 15 minutes.)

Then ``ltr.train_settings.tracktor.reid_synthetic`` trains the ReID network in the same folder.
The final checkpoints are copied into ``network_path`` as ``tracktor_synthetic_detector.pth.tar``
and ``tracktor_synthetic_reid.pth.tar``, which Tracktor's ``synthetic`` parameters load.
"""

from __future__ import annotations

from pathlib import Path

from admin.environment import resolve_dataset_root
from ltr.dataset.mot.cocovid import CocoDetectionSet
from ltr.train_settings.tracktor import faster_rcnn_r50_fpn_4e_mot17_half as published

GENERATE_HINT = "generate it with: python -m ltr.dataset.synthetic --mot"
DETECTOR_FILE = "tracktor_synthetic_detector.pth.tar"
REID_FILE = "tracktor_synthetic_reid.pth.tar"
VAL_FRAME_STEP = 3  # bbox AP on every third validation frame: the same figure, a third of the time


def configure(settings) -> None:
    published.configure(settings)
    settings.batch_size = 4
    settings.num_workers = 1  # two cores: one loads and augments, the other steps the network
    settings.print_interval = 25
    settings.keep_checkpoints = 2
    settings.network = "faster_rcnn_tiny"
    settings.network_kwargs = {"num_classes": 1}
    settings.detector_weights = None  # nothing pretrained: trained from scratch
    # From scratch it needs more steps than 4 epochs of 600 frames: 6, the step before the last.
    settings.epochs = 6
    settings.lr_milestones = [5]
    settings.img_scale = [384, 384]  # faster_rcnn_tiny's test scale
    settings.crop_size = [384, 384]
    settings.ap_max_dets = 100
    settings.track_eval = {"tracker": "tracktor", "parameters": "synthetic", "dataset": "synthetic_mot",
                           "reid": None, "sequences": None, "param": ["use_reid=False"],
                           "epoch_interval": settings.epochs, "timeout": 600}


def convert_split(dataset_root: Path, split: str, out: Path) -> Path:
    """The COCO-video file of the synthetic dataset's ``split`` (its frames under
    ``<dataset_root>/<split>``), written by the MOTChallenge converter into ``out/<split>``."""
    from ltr.dataset.mot.convert import mot_to_coco

    staging = out / f"{split}_root"
    staging.mkdir(parents=True, exist_ok=True)
    link = staging / "train"  # the converter reads a benchmark's train/ folder
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to((dataset_root / split).resolve(), target_is_directory=True)
    return mot_to_coco(staging, out / split, halves=False, mot15=False)["train"]


def datasets(settings) -> tuple[CocoDetectionSet, CocoDetectionSet]:
    """(training images: the train sequences, evaluation images: every third frame of the val ones)."""
    root = resolve_dataset_root(settings.env.synthetic_mot_dir, "synthetic_mot_dir", hint=GENERATE_HINT)
    out = Path(settings.env.workspace_dir) / "synthetic_mot_annotations"
    train = CocoDetectionSet(convert_split(root, "train", out), root / "train")
    val = CocoDetectionSet(convert_split(root, "val", out), root / "val", test_mode=True).take_every(VAL_FRAME_STEP)
    return train, val


def run(settings) -> None:
    configure(settings)
    detector = published.train(settings, datasets)
    network_path = Path(settings.env.network_path)
    detector.publish(network_path / DETECTOR_FILE)
    from ltr.train_settings.tracktor import reid_synthetic  # the ReID recipe

    reid_synthetic.configure(settings)
    reid = reid_synthetic.train(settings, reid_synthetic.datasets)
    reid.publish(network_path / REID_FILE)
