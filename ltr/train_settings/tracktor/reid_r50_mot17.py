"""Tracktor's re-identification network as published (mmtracking
``configs/reid/resnet50_b32x8_MOT17.py``): ResNet-50 from ImageNet weights, cross-entropy plus
triplet loss, on the crops of MOT17's training sequences (mot2reid's train_80 identities).

    python ltr/run_training.py tracktor reid_r50_mot17

Published: 8 GPUs x 1 group of 8 identities x 4 crops (256x128); SGD lr 0.1, momentum 0.9,
weight decay 1e-4 on all parameters; linear warm-up over 1000 iterations from 1/1000 of the
rate; the rate times 0.1 after epoch 5 of 6; an epoch anchors one group at every training crop
(split over the GPUs); validation mAP / CMC on the val_20 identities after every epoch.
``batch_size`` here is groups per rank per iteration: run on 8 ranks (torchrun) to reproduce.

``configure`` sets the published values, ``datasets`` names the data, ``train`` builds and runs
everything from the settings: a variant calls them and changes what differs.
"""

import torch

from ltr.actors import ReIDActor
from ltr.data.loader import LTRLoader
from ltr.data.reid_sampler import ReIDProcessing, ReIDSampler
from ltr.dataset import build_datasets
from ltr.dataset.mot.motchallenge import MotChallenge
from ltr.dataset.mot.reid import MotReID
from ltr.models.registry import build_network
from ltr.models.reid.evaluation import ReIDEvaluation
from ltr.trainers import LTRTrainer
from ltr.trainers.schedules import LinearWarmup


def configure(settings) -> None:
    """The published recipe."""
    settings.batch_size = 1  # groups of ids x crops per rank and iteration
    settings.num_workers = 2
    settings.epochs = 6
    settings.print_interval = 50
    # mmdet's mean (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375) of RGB in 0..255.
    settings.normalize_mean = [0.485, 0.456, 0.406]
    settings.normalize_std = [0.229, 0.224, 0.225]
    settings.flip_probability = 0.5
    settings.reid_ids_per_batch = 8
    settings.reid_crops_per_id = 4
    settings.reid_triplet_margin = 0.3
    settings.reid_vis_threshold = 0.3
    settings.reid_min_per_person = 8
    settings.reid_max_per_person = 1000
    settings.reid_val_split = 0.2
    settings.reid_val_max_crops = 0  # 0: every validation crop
    settings.train_samples_per_epoch = 0  # 0: one group per training crop, split over the ranks
    settings.network = "reid_r50"
    settings.network_kwargs = {"backbone_pretrained": True}  # num_classes: from the data
    settings.learning_rate = 0.1
    settings.momentum = 0.9
    settings.weight_decay = 1e-4
    settings.warmup_iterations = 1000
    settings.warmup_ratio = 1.0 / 1000
    settings.lr_milestones = [5]
    settings.lr_gamma = 0.1


def reid_subsets(settings, mot: MotChallenge, train_subset: str, val_mot: MotChallenge, val_subset: str):
    """The training and validation crops with the settings' mot2reid options."""
    options = dict(vis_threshold=settings.reid_vis_threshold, min_per_person=settings.reid_min_per_person,
                   max_per_person=settings.reid_max_per_person, val_split=settings.reid_val_split)
    return MotReID(mot, subset=train_subset, **options), MotReID(val_mot, subset=val_subset, **options)


def datasets(settings):
    """(training crops, validation crops): MOT17's train_80 and val_20 identities. The tree is
    checked first (ltr.dataset.DatasetCheckError lists every problem)."""
    mot = build_datasets({"mot17 train": lambda: MotChallenge(settings.env.mot17_dir, "mot17", "train")})["mot17 train"]
    return reid_subsets(settings, mot, "train", mot, "val")


def train(settings, datasets=datasets) -> LTRTrainer:
    """Build the loader, network, actor, optimiser, warm-up, schedule and validation hook from
    ``settings`` and train. The network's identity classifier has one output per training identity."""
    train_set, val_set = datasets(settings)
    net = build_network(settings.network, **{**settings.network_kwargs, "num_classes": train_set.num_classes})
    processing = ReIDProcessing(crop_size=net.crop_size, flip_probability=settings.flip_probability,
                                mean=settings.normalize_mean, std=settings.normalize_std, seed=settings.seed)
    samples = settings.train_samples_per_epoch or max(1, len(train_set) // max(1, settings.world_size))
    sampler = ReIDSampler(train_set, processing=processing, ids_per_batch=settings.reid_ids_per_batch,
                          crops_per_id=settings.reid_crops_per_id, samples_per_epoch=samples, seed=settings.seed)
    loader = LTRLoader("train", sampler, training=True, batch_size=settings.batch_size,
                       num_workers=settings.num_workers, shuffle=True, drop_last=True, stack_dim=0, seed=settings.seed)
    actor = ReIDActor(net, triplet_margin=settings.reid_triplet_margin)
    optimizer = torch.optim.SGD(net.parameters(), lr=settings.learning_rate, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=settings.lr_milestones,
                                                        gamma=settings.lr_gamma)
    evaluation = ReIDEvaluation(val_set, crop_size=net.crop_size, mean=settings.normalize_mean,
                                std=settings.normalize_std, max_crops=settings.reid_val_max_crops or None)
    trainer = LTRTrainer(actor, [loader], optimizer, settings, lr_scheduler,
                         warmup=LinearWarmup(iterations=settings.warmup_iterations, ratio=settings.warmup_ratio),
                         hooks=[evaluation])
    trainer.train(settings.epochs, load_latest=settings.resume)
    return trainer


def run(settings) -> None:
    configure(settings)
    train(settings)
