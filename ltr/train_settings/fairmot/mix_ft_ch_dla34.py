"""FairMOT's ``experiments/mix_ft_ch_dla34.sh``: MIX (``data.json``: MOT17, Caltech,
CityPersons, CUHK-SYSU, PRW, ETH) from the CrowdHuman model, FairMOT's defaults otherwise (30
epochs, step after 20, batch 12); this is how FairMOT's released ``fairmot_dla34.pth`` was made::

    python ltr/run_training.py fairmot mix_ft_ch_dla34

``load_model`` ``crowdhuman_dla34.pth`` (in network_path or pretrained_networks): the network of
``crowdhuman_dla34``, or FairMOT's released file of that name.
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.load_model = "crowdhuman_dla34.pth"
    settings.data_config = "data.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
