"""Tracktor's re-identification network on the generated synthetic MOT dataset, on a CPU.

    python -m ltr.dataset.synthetic --mot      # once: writes the dataset into synthetic_mot_dir
    python ltr/run_training.py tracktor reid_synthetic

The published recipe (reid_r50_mot17) with what a CPU and no pretrained weights require: the
small network (reid_tiny: crops 64x32, 128-d embeddings), all identities of the training
sequences for training and those of the validation sequences for validation (mAP, rank-1 and
mean distances of same and other identities, after every epoch), a short warm-up and fewer,
shorter epochs.

On the default dataset (python -m ltr.dataset.synthetic --mot: 181 training identities, 10905
crops; 88 validation identities, 1500 of their 5922 crops evaluated) it took 2m50s on two busy
cores (OMP_NUM_THREADS=1; more threads than free cores slow it many times over). Validation
after epoch 8: mAP 0.744, rank-1 0.893, mean distance of one identity's crops 2.72 against 8.59
between identities; the untrained network scores mAP 0.370, rank-1 0.708 (distances 0.16, 0.24).

A recipe that trains a detector first (tracktor_synthetic) calls ``configure(settings)`` and
``train(settings, datasets)`` after it, in the same run folder.
"""

from admin.environment import resolve_dataset_root
from ltr.dataset import build_datasets
from ltr.dataset.mot.motchallenge import MotChallenge
from ltr.train_settings.tracktor import reid_r50_mot17

GENERATE_HINT = "generate it with: python -m ltr.dataset.synthetic --mot"


def configure(settings) -> None:
    reid_r50_mot17.configure(settings)
    settings.num_workers = 2
    settings.epochs = 8
    settings.print_interval = 25
    settings.train_samples_per_epoch = 150
    settings.reid_val_split = 0.0  # validation identities come from the validation sequences
    settings.reid_val_max_crops = 1500
    settings.network = "reid_tiny"
    settings.network_kwargs = {}
    settings.learning_rate = 0.05
    settings.warmup_iterations = 100
    settings.lr_milestones = [6]


def datasets(settings):
    """(training crops, validation crops): every identity of the synthetic dataset's train
    sequences, and of its val sequences."""
    def split(name):
        return lambda: MotChallenge(resolve_dataset_root(settings.env.synthetic_mot_dir, "synthetic_mot_dir",
                                                         hint=GENERATE_HINT), "mot17", name)
    built = build_datasets({"synthetic_mot train": split("train"), "synthetic_mot val": split("val")})
    return reid_r50_mot17.reid_subsets(settings, built["synthetic_mot train"], "all", built["synthetic_mot val"], "all")


def train(settings, datasets=datasets):
    return reid_r50_mot17.train(settings, datasets)


def run(settings) -> None:
    configure(settings)
    train(settings)
