"""The default Tracktor on the small networks that ``ltr/train_settings/tracktor/tracktor_synthetic.py``
trains on the synthetic MOT scenes (checkpoints in ``network_path``).

One value follows the network rather than the published settings: the ReID distance limit. The
published 2.0 is on the scale of mmtracking's ResNet-50 embeddings; the small ReID network's
embeddings lie farther apart (on the synthetic validation crops, mean distance 3.0 between crops
of one person and 9.5 between different people), so 2.0 accepts almost no re-identification.
HOTA / IDF1 (percent) on the two validation sequences by the limit, networks of the quick start:
2.0 gave 31.5 / 34.1, 3.0 gave 34.5 / 39.0, 4.0 gave 36.9 / 43.8, 5.0 gave 39.3 / 48.4 (6.0 gave
39.8 / 49.1); 5.0 is kept, between the two means and below the other-person distances."""

from pytracking.parameter.tracktor.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.detector_network = None
    params.detector_network_kwargs = {}
    params.detector_weights = None
    params.detector_checkpoint = "tracktor_synthetic_detector.pth.tar"
    params.reid_network = None
    params.reid_weights = None
    params.reid_checkpoint = "tracktor_synthetic_reid.pth.tar"
    params.reid_match_score_thr = 5.0
    return params
