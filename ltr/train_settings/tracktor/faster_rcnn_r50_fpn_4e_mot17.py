"""Tracktor's detector on the whole MOT17 training set (mmtracking's
``configs/det/faster-rcnn_r50_fpn_4e_mot17.py``: the half recipe with ``train_cocoformat.json``
for training and, as published, for evaluation too: the bbox AP after each epoch is on the
training images; there is no held-out MOT17 data with ground truth, so no track evaluation)::

    python ltr/run_training.py tracktor faster_rcnn_r50_fpn_4e_mot17
"""

from ltr.dataset.mot.cocovid import CocoDetectionSet
from ltr.train_settings.tracktor import faster_rcnn_r50_fpn_4e_mot17_half as half
from admin.environment import resolve_dataset_root


def configure(settings) -> None:
    half.configure(settings)
    settings.track_eval = None


def datasets(settings):
    root = resolve_dataset_root(None, "mot17_dir")
    annotation = root / "annotations" / "train_cocoformat.json"
    return (CocoDetectionSet(annotation, root / "train"),
            CocoDetectionSet(annotation, root / "train", test_mode=True))


def run(settings) -> None:
    configure(settings)
    half.train(settings, datasets)
