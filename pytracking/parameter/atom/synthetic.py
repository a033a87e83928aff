"""ATOM with the network trained on the generated synthetic dataset (``atom_synthetic``): its
small ResNet saw 144-pixel crops in training, so samples are 144 pixels (9x9 features)."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = default_parameters()
    params.net_path = "atom_synthetic.pth.tar"
    params.image_sample_size = 9 * 16
    return params
