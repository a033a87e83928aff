"""ATOM's IoU-Net on the generated synthetic dataset, on a CPU: the embedded default.

    python -m ltr.dataset.synthetic --train 240   # once: writes the dataset into synthetic_dir
    python ltr/run_training.py bbreg atom_synthetic

The published recipe (atom_default) with what a CPU and no pretrained weights require: a small
ResNet (width 24) trained together with the IoU-Net (with weight decay, a lower learning rate and mirrored
training pairs, as it starts from nothing), smaller crops (192 pixels: feature size 12 at stride
16), fewer and smaller epochs, and a validation on the same 512 samples every epoch. About 8.5
minutes on two cores. It needs many sequences to generalise: with 240 the validation IoU loss
ends below half its first epoch's value; with 60 it overfits them.

An ImageNet backbone tells objects apart; one trained only through the IoU-Net does not, and
the tracker's classifier (on layer2) then follows look-alikes. So the backbone's layer2 also
learns by a template-matching loss (ltr.models.loss.TemplateMatchingLoss), weighted 2. ATOM's
AUC on the validation sequences, mean of three tracker seeds (without the IoU-Net in brackets),
by that weight: 0.1 gave 31.8 (33.6), 0.5 gave 34.2 (32.0), 2 gave 40.0 (38.4), 6 gave 38.0
(38.7); OpenCV's CSRT scores 36.6 there.
"""

import logging

from ltr.dataset import SyntheticTracking, build_datasets
from ltr.train_settings.bbreg import atom_default

logger = logging.getLogger(__name__)
ENOUGH_SEQUENCES = 200


def datasets(settings):
    built = build_datasets({"synthetic train": lambda: SyntheticTracking(split="train"),
                            "synthetic val": lambda: SyntheticTracking(split="val")})
    train = built["synthetic train"]
    if train.get_num_sequences() < ENOUGH_SEQUENCES:
        logger.warning("the synthetic dataset has %d training sequences: the network will overfit them; "
                       "generate %d or more (python -m ltr.dataset.synthetic --train 240)",
                       train.get_num_sequences(), ENOUGH_SEQUENCES)
    return [train], [1], [built["synthetic val"]]


def configure(settings) -> None:
    atom_default.configure(settings)
    settings.batch_size = 16
    settings.num_workers = 2
    settings.epochs = 20
    settings.print_interval = 20
    settings.feature_sz = 12
    settings.output_sz = settings.feature_sz * 16
    settings.train_samples_per_epoch = 60 * settings.batch_size
    settings.val_samples_per_epoch = 32 * settings.batch_size
    settings.val_epoch_interval = 1
    settings.network = "atom_resnet_tiny"
    settings.network_kwargs = {"width": 24}
    settings.train_backbone = True  # nothing pretrained: the backbone learns too
    settings.flip_probability = 0.5
    settings.learning_rate = 5e-4
    settings.weight_decay = 1e-4
    settings.lr_step = 14
    # Features that tell the target from look-alikes, for the tracker's online classifier.
    settings.template_loss_weight = 2.0


def run(settings) -> None:
    configure(settings)
    atom_default.train(settings, datasets)
