"""FairMOT's ``experiments/mix_mot17_half_dla34.sh`` (the ablation setting): MIX with the
first half of MOT17 (``data_half.json``) from CenterNet's COCO model, FairMOT's defaults otherwise::

    python ltr/run_training.py fairmot mix_mot17_half_dla34
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.load_model = base.COCO_CENTERNET
    settings.data_config = "data_half.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
