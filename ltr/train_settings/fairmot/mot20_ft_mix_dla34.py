"""FairMOT's ``experiments/mot20_ft_mix_dla34.sh``: MOT20 (``mot20.json``) fine-tuned from
the MIX model ``fairmot_dla34.pth`` for 20 epochs, the rate times 0.1 after epoch 15, with the
boxes clipped to the image after the affine (FairMOT's README for MOT20: uncomment the four
``np.clip`` lines of ``random_affine``)::

    python ltr/run_training.py fairmot mot20_ft_mix_dla34

``load_model`` ``fairmot_dla34.pth`` (network_path or pretrained_networks): FairMOT's released
MIX model, or the network of ``mix_ft_ch_dla34`` copied there.
"""

from ltr.train_settings.fairmot import base


def configure(settings) -> None:
    base.configure(settings)
    settings.load_model = "fairmot_dla34.pth"
    settings.epochs = 20
    settings.lr_milestones = [15]
    settings.clip_boxes = True
    settings.data_config = "mot20.json"


def run(settings) -> None:
    configure(settings)
    base.train(settings)
