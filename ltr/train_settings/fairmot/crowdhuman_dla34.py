"""FairMOT's ``experiments/crowdhuman_dla34.sh``: DLA-34 from CenterNet's COCO model on
CrowdHuman (train and val), every box its own identity (``gen_labels_crowd_id.py``:
``python -m ltr.dataset.mot.convert crowdhuman-labels``), 60 epochs, the rate times 0.1 after
epoch 50, batch 8 (on two GPUs)::

    python ltr/run_training.py fairmot crowdhuman_dla34

Data config ``crowdhuman.json`` in ``jde_data_dir``. Its final network is what
``mix_ft_ch_dla34`` starts from (``crowdhuman_dla34.pth``: copy the last checkpoint there, or
use FairMOT's released file).
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.batch_size = 8
    settings.epochs = 60
    settings.lr_milestones = [50]
    settings.data_config = "crowdhuman.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
