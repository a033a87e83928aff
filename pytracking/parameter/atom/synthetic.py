"""ATOM with the network trained on the generated synthetic dataset (``atom_synthetic``): its
small ResNet saw 144-pixel crops in training, so samples are 144 pixels.

At 144 pixels layer3 gives 9x9 maps of stride 16: the target (about 29 pixels) spans two cells,
the Gaussian label (sigma 0.45 cells) is nearly a single cell and the sample centre falls
between cells. layer2 (18x18, stride 8) gives the geometry the published settings have at 288
pixels on layer3, and it found the target more often on the validation sequences. Scores are
upsampled twice so that the peak moves in 4-pixel steps.
"""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = default_parameters()
    params.net_path = "atom_synthetic.pth.tar"
    params.image_sample_size = 9 * 16
    params.classifier_layer = "layer2"
    params.score_upsample_factor = 2
    return params
