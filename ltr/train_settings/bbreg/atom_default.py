"""ATOM's IoU-Net as published: ResNet-18 backbone pretrained on ImageNet and frozen, trained on
LaSOT, TrackingNet and COCO.

    python ltr/run_training.py bbreg atom_default

``configure`` sets the published values, ``datasets`` names the data, ``train`` builds and runs
everything from the settings: a variant calls them and changes what differs.
"""

import torch

from ltr.actors import AtomActor
from ltr.data import transforms as tfm
from ltr.data.loader import LTRLoader
from ltr.data.processing import ATOMProcessing
from ltr.data.sampler import ATOMSampler
from ltr.dataset import Lasot, MSCOCOSeq, TrackingNet, build_datasets
from ltr.models.loss import TemplateMatchingLoss
from ltr.models.registry import build_network
from ltr.trainers import LTRTrainer


def configure(settings) -> None:
    """The published recipe."""
    settings.batch_size = 64  # per rank
    settings.num_workers = 8
    settings.epochs = 50
    settings.print_interval = 1
    settings.normalize_mean = [0.485, 0.456, 0.406]
    settings.normalize_std = [0.229, 0.224, 0.225]
    settings.search_area_factor = 5.0
    settings.feature_sz = 18
    settings.output_sz = settings.feature_sz * 16
    settings.center_jitter_factor = {"train": 0, "test": 4.5}
    settings.scale_jitter_factor = {"train": 0, "test": 0.5}
    settings.proposal_params = {"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}
    settings.grayscale_probability = 0.05
    settings.flip_probability = 0.0  # joint horizontal flip of a training pair
    settings.brightness_jitter = 0.2
    settings.max_gap = 50
    settings.train_samples_per_epoch = 1000 * settings.batch_size
    settings.val_samples_per_epoch = 500 * settings.batch_size
    settings.val_epoch_interval = 5
    settings.network = "atom_resnet18"
    settings.network_kwargs = {
        "backbone_pretrained": True,
        # As published: pytracking freezes the backbone by requires_grad_(False) only and trains
        # with the whole network in train mode, so the frozen ResNet's BatchNorm layers normalise
        # with each batch's statistics and update their running statistics, which the
        # checkpoints keep and the tracker uses. "eval" would keep the ImageNet statistics.
        "frozen_batch_norm": "train",
        # The published contiguous tensors; atom_fast runs the backbone channels-last (faster,
        # float rounding differs).
        "channels_last": False,
    }
    settings.train_backbone = False  # Adam on the IoU-Net only
    # Adam's per-operation update as published; atom_fast uses the fused kernel (one pass over
    # each tensor instead of six, parameters differ in the last bit).
    settings.adam_fused = False
    settings.learning_rate = 1e-3
    settings.weight_decay = 0.0
    settings.lr_step = 15
    settings.lr_gamma = 0.2
    # A template-matching loss on the backbone (ltr.models.loss) for backbones trained from
    # scratch; the published recipe has none: its frozen backbone needs none.
    settings.template_loss_weight = 0.0
    settings.template_loss_layer = "layer2"
    settings.template_loss_stride = 8


def datasets(settings):
    """(training datasets, their sampling weights, validation datasets). Every dataset is built
    and its files checked before anything trains; all problems are raised together
    (ltr.dataset.DatasetCheckError)."""
    built = build_datasets({
        "lasot train": lambda: Lasot(settings.env.lasot_dir, split="train"),
        "trackingnet train": lambda: TrackingNet(settings.env.trackingnet_dir, set_ids=list(range(11))),
        "coco train": lambda: MSCOCOSeq(settings.env.coco_dir),
        "trackingnet val": lambda: TrackingNet(settings.env.trackingnet_dir, set_ids=[11]),
    })
    train = [built["lasot train"], built["trackingnet train"], built["coco train"]]
    return train, [1, 1, 1], [built["trackingnet val"]]


def processing(settings, training: bool) -> ATOMProcessing:
    normalize = tfm.Normalize(mean=settings.normalize_mean, std=settings.normalize_std)
    if training:
        transform = tfm.Transform(tfm.ToTensorAndJitter(settings.brightness_jitter), normalize)
    else:
        transform = tfm.Transform(tfm.ToTensor(), normalize)
    joint = [tfm.ToGrayscale(probability=settings.grayscale_probability)]
    if training and settings.flip_probability:
        joint.append(tfm.RandomHorizontalFlip(probability=settings.flip_probability))
    return ATOMProcessing(search_area_factor=settings.search_area_factor, output_sz=settings.output_sz,
                          center_jitter_factor=settings.center_jitter_factor,
                          scale_jitter_factor=settings.scale_jitter_factor, mode="sequence",
                          proposal_params=settings.proposal_params, transform=transform,
                          joint_transform=tfm.Transform(*joint))


def template_loss(settings) -> dict:
    """The actor's template-loss arguments from the settings (none when its weight is 0)."""
    weight = getattr(settings, "template_loss_weight", 0.0)
    if not weight:
        return {}
    return {"template_loss": TemplateMatchingLoss(stride=settings.template_loss_stride),
            "template_layer": settings.template_loss_layer, "template_weight": weight}


def train(settings, datasets=datasets) -> LTRTrainer:
    """Build the loaders, network, actor and optimiser from ``settings`` and train."""
    train_sets, weights, val_sets = datasets(settings)
    dataset_train = ATOMSampler(train_sets, weights, samples_per_epoch=settings.train_samples_per_epoch,
                                max_gap=settings.max_gap, processing=processing(settings, training=True))
    loader_train = LTRLoader("train", dataset_train, training=True, batch_size=settings.batch_size,
                             num_workers=settings.num_workers, shuffle=True, drop_last=True, stack_dim=1,
                             seed=settings.seed)
    dataset_val = ATOMSampler(val_sets, None, samples_per_epoch=settings.val_samples_per_epoch,
                              max_gap=settings.max_gap, processing=processing(settings, training=False))
    loader_val = LTRLoader("val", dataset_val, training=False, batch_size=settings.batch_size,
                           num_workers=settings.num_workers, shuffle=False, drop_last=True,
                           epoch_interval=settings.val_epoch_interval, stack_dim=1, seed=settings.seed + 1)

    net = build_network(settings.network, **settings.network_kwargs)
    actor = AtomActor(net=net, objective=torch.nn.MSELoss(), **template_loss(settings))
    parameters = net.parameters() if settings.train_backbone else net.bb_regressor.parameters()
    optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay,
                                 fused=True if settings.adam_fused else None)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_step, gamma=settings.lr_gamma)
    trainer = LTRTrainer(actor, [loader_train, loader_val], optimizer, settings, lr_scheduler)
    trainer.train(settings.epochs, load_latest=settings.resume)
    return trainer


def run(settings) -> None:
    configure(settings)
    train(settings)
