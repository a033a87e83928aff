"""FairMOT's ``experiments/mot17_dla34.sh``: MOT17 alone (``mot17.json``) from CenterNet's
COCO model, FairMOT's defaults otherwise::

    python ltr/run_training.py fairmot mot17_dla34
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.load_model = base.COCO_CENTERNET
    settings.data_config = "mot17.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
