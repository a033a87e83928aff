"""FairMOT's ``experiments/mix_dla34.sh``: MIX (``data.json``) from CenterNet's COCO model
with FairMOT's defaults (30 epochs, step after 20, batch 12, Adam 1e-4)::

    python ltr/run_training.py fairmot mix_dla34
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.load_model = base.COCO_CENTERNET
    settings.data_config = "data.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
