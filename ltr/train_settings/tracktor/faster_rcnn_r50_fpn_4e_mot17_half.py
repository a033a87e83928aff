"""Tracktor's detector as mmtracking trains it (``configs/det/faster-rcnn_r50_fpn_4e_mot17-half.py``
with ``_base_/datasets/mot_challenge_det.py`` and ``_base_/default_runtime.py``): Faster R-CNN
R50-FPN, one class, on the first half of every MOT17 training sequence, evaluated on the second::

    python -m ltr.dataset.mot.convert coco --root <mot17_dir> --out <mot17_dir>/annotations   # once
    python ltr/run_training.py tracktor faster_rcnn_r50_fpn_4e_mot17_half
    torchrun --nproc_per_node 8 ltr/run_training.py tracktor faster_rcnn_r50_fpn_4e_mot17_half

As published:

- data: ``<mot17_dir>/annotations/half-train_cocoformat.json`` (images under ``<mot17_dir>/train``)
  read with mmdetection's CocoDataset rules (:mod:`ltr.dataset.mot.cocovid`), class 'pedestrian';
  the pipeline of :mod:`ltr.data.detection` (Resize 1088 with ratio 0.8-1.2, PhotoMetricDistortion,
  RandomCrop 1088, RandomFlip 0.5, Normalize, Pad 32);
- 2 images per GPU; SGD, lr 0.02, momentum 0.9, weight decay 1e-4 on every parameter, no
  gradient clipping (``optimizer_config = dict(grad_clip=None)``); linear warm-up over 100
  iterations from 0.01 of the rate; the rate times 0.1 from the 4th epoch (``step=[3]``); 4
  epochs; a checkpoint every epoch (all four kept);
- the learning rate is the published one for 8 GPUs x 2 images: mmdetection does not scale it
  with the number of GPUs, and neither does this recipe. With fewer GPUs the linear scaling rule
  (lr proportional to the total batch: 0.02 * GPUs * images / 16) is the usual adjustment:
  ``--set learning_rate=0.0025`` for one GPU;
- the detector starts from COCO Faster R-CNN weights (mmtracking: ``init_cfg`` mmdetection's
  ``faster_rcnn_r50_fpn_2x_coco``; here torchvision's COCO file ``detector_weights`` in
  ``pretrained_networks``, read by ``ltr.models.detection.convert.load_detector_weights``); when
  that file is absent, from an ImageNet ResNet-50 (``backbone_pretrained``), with a warning;
- evaluation after every epoch: COCO bbox AP on half-val (mmdetection's ``evaluate``: 1000
  detections per image), and the track metrics of Tracktor with this epoch's detector on
  ``mot17_half_val`` (a separate process, :mod:`pytracking.evaluation.checkpoint_eval`;
  ``--set track_eval=None`` leaves it out).

With several GPUs (torchrun) each rank trains on its share of the images (every world_size-th).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from admin.environment import REPO_ROOT, resolve_dataset_root
from ltr.actors import DetectionActor
from ltr.data.detection import DetectionSamples, detection_loader, train_pipeline
from ltr.dataset.mot.cocovid import CocoDetectionSet
from ltr.evaluation.detection_ap import DetectionAPHook
from ltr.models.registry import build_network
from ltr.trainers import LinearWarmup, LTRTrainer
from ltr.trainers.hooks import CommandHook

logger = logging.getLogger(__name__)


def configure(settings) -> None:
    """The published recipe."""
    settings.batch_size = 2  # per GPU (samples_per_gpu)
    settings.num_workers = 2  # workers_per_gpu
    settings.epochs = 4
    settings.print_interval = 50
    settings.keep_checkpoints = 4  # checkpoint_config interval 1: every epoch's is kept
    # mmdet's mean (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375) on 0..255 pixels: ImageNet's.
    settings.normalize_mean = [0.485, 0.456, 0.406]
    settings.normalize_std = [0.229, 0.224, 0.225]
    settings.network = "faster_rcnn_r50_fpn"
    settings.network_kwargs = {"num_classes": 1, "clip_border": False}
    settings.detector_weights = "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"  # torchvision's COCO Faster R-CNN
    settings.learning_rate = 0.02
    settings.momentum = 0.9
    settings.weight_decay = 1e-4
    settings.grad_clip_norm = None
    settings.warmup_iterations = 100
    settings.warmup_ratio = 0.01
    settings.lr_milestones = [3]
    settings.lr_gamma = 0.1
    settings.img_scale = [1088, 1088]
    settings.ratio_range = [0.8, 1.2]
    settings.crop_size = [1088, 1088]
    settings.flip_probability = 0.5
    settings.photometric_distortion = True
    settings.size_divisor = 32
    settings.val_epoch_interval = 1
    settings.ap_max_dets = 1000
    settings.track_eval = {"tracker": "tracktor", "parameters": "default", "dataset": "mot17_half_val",
                           "reid": None, "sequences": None, "param": [], "epoch_interval": 1, "timeout": None}


def datasets(settings) -> tuple[CocoDetectionSet, CocoDetectionSet]:
    """(training images, evaluation images): half-train and half-val of MOT17."""
    root = resolve_dataset_root(None, "mot17_dir")
    return (CocoDetectionSet(root / "annotations" / "half-train_cocoformat.json", root / "train"),
            CocoDetectionSet(root / "annotations" / "half-val_cocoformat.json", root / "train", test_mode=True))


def build_detector(settings) -> torch.nn.Module:
    """The detector, from COCO weights (``detector_weights`` in ``pretrained_networks``) when the
    file is there, else from an ImageNet backbone; a log line says which."""
    weights = None
    if getattr(settings, "detector_weights", None):
        try:
            weights = Path(settings.env.pretrained_networks) / settings.detector_weights
        except OSError:  # the pretrained_networks folder is not there
            weights = None
    kwargs = dict(settings.network_kwargs)
    if weights is not None and weights.is_file():
        from ltr.models.detection.convert import load_detector_weights  # the detector's converter

        net = build_network(settings.network, kwargs, backbone_pretrained=False)
        load_detector_weights(net, weights)
        logger.info("detector %s starts from the COCO weights %s (as mmtracking's init_cfg)", settings.network, weights)
        return net
    if weights is not None:
        logger.warning("no COCO detector weights %s: %s starts from an ImageNet ResNet-50 instead of COCO Faster "
                       "R-CNN weights (mmtracking's start); put torchvision's file there to start as published",
                       weights, settings.network)
        kwargs.setdefault("backbone_pretrained", True)
    else:
        logger.info("detector %s starts from %s", settings.network, kwargs)
    return build_network(settings.network, kwargs)


def track_command(settings) -> list[str] | None:
    """The checkpoint_eval command of ``settings.track_eval`` (None: no track evaluation)."""
    spec = settings.track_eval
    if not spec:
        return None
    command = [sys.executable, "-m", "pytracking.evaluation.checkpoint_eval", "--tracker", spec["tracker"],
               "--parameters", spec["parameters"], "--dataset", spec["dataset"], "--detector", "{network}"]
    if spec.get("reid"):
        command += ["--reid", str(spec["reid"])]
    if spec.get("sequences"):
        command += ["--sequences", *spec["sequences"]]
    if spec.get("param"):
        command += ["--param", *spec["param"]]
    return command + ["--json", "{json}"]


def hooks(settings, val_set: CocoDetectionSet | None) -> list:
    """bbox AP on ``val_set`` and the track metrics, as the settings ask."""
    found = []
    if val_set is not None:
        found.append(DetectionAPHook(val_set, epoch_interval=settings.val_epoch_interval, max_dets=settings.ap_max_dets))
    command = track_command(settings)
    if command is not None:
        found.append(CommandHook(command, name="track", epoch_interval=settings.track_eval.get("epoch_interval", 1),
                                 timeout=settings.track_eval.get("timeout"), cwd=REPO_ROOT))
    return found


def train(settings, datasets=datasets) -> LTRTrainer:
    """Build loader, detector, actor, optimiser, schedules and hooks from ``settings`` and train."""
    train_set, val_set = datasets(settings)
    pixel_mean = [255 * m for m in settings.normalize_mean]
    pixel_std = [255 * s for s in settings.normalize_std]
    pipeline = train_pipeline(scale=tuple(settings.img_scale), ratio_range=tuple(settings.ratio_range),
                              crop_size=tuple(settings.crop_size) if settings.crop_size else None,
                              flip_probability=settings.flip_probability,
                              photometric=settings.photometric_distortion, mean=pixel_mean, std=pixel_std,
                              size_divisor=settings.size_divisor)
    samples = DetectionSamples(train_set, pipeline, rank=settings.rank, world_size=settings.world_size)
    loader = detection_loader("train", samples, training=True, batch_size=settings.batch_size,
                              num_workers=settings.num_workers, shuffle=True, seed=settings.seed)
    torch.manual_seed(settings.seed)
    net = build_detector(settings)
    actor = DetectionActor(net)
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=settings.learning_rate,
                                momentum=settings.momentum, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(settings.lr_milestones),
                                                     gamma=settings.lr_gamma)
    warmup = LinearWarmup(iterations=settings.warmup_iterations, ratio=settings.warmup_ratio)
    trainer = LTRTrainer(actor, [loader], optimizer, settings, scheduler, warmup=warmup,
                         hooks=hooks(settings, val_set))
    trainer.train(settings.epochs, load_latest=settings.resume)
    return trainer


def run(settings) -> None:
    configure(settings)
    train(settings)
