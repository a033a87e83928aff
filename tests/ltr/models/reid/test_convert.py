"""Loading mmtracking's ReID weights (the ReID checkpoint, and a whole Tracktor file) strictly,
on state dicts built here."""

import pytest
import torch

from ltr.models.loading import CheckpointError, CheckpointNotFoundError
from ltr.models.reid import reid_tiny
from ltr.models.reid.convert import ReIDWeightsError, load_reid_weights


def released(num_classes=5, seed=0):
    torch.manual_seed(seed)
    return {key: value.clone() for key, value in reid_tiny(num_classes=num_classes).state_dict().items()}


def assert_loaded(net, state, skip=()):
    own = net.state_dict()
    for key, value in state.items():
        if key not in skip:
            assert torch.equal(own[key], value), key


def test_reid_checkpoint_file_loads_strictly(tmp_path):
    state = released()
    path = tmp_path / "reid_r50_6e_mot17.pth"
    torch.save({"state_dict": state, "meta": {"epoch": 6, "config": "model = dict(...)"}}, path)
    net = reid_tiny(num_classes=5)
    report = load_reid_weights(net, path)
    assert report.loaded == len(state) and report.prefix == "" and report.ignored == {}
    assert report.classifier_left is None
    assert_loaded(net, state)


def test_tracktor_file_strips_reid_and_reports_the_detector():
    state = released()
    whole = {**{f"reid.{key}": value for key, value in state.items()},
             "detector.backbone.conv1.weight": torch.zeros(2), "detector.roi_head.bbox_head.fc_cls.weight": torch.zeros(1)}
    net = reid_tiny(num_classes=5)
    report = load_reid_weights(net, {"state_dict": whole})
    assert report.prefix == "reid." and report.ignored == {"detector": 2}
    assert "ignored 2 detector.* keys" in report.describe()
    assert_loaded(net, state)


def test_a_classifier_for_other_identities_is_reported_and_left():
    state = released(num_classes=380)
    net = reid_tiny(num_classes=9)
    before = net.head.classifier.weight.clone()
    report = load_reid_weights(net, state)
    assert "380 identities" in report.classifier_left and "9" in report.classifier_left
    assert report.loaded == len(state) - 2
    assert torch.equal(net.head.classifier.weight, before)
    assert_loaded(net, state, skip=("head.classifier.weight", "head.classifier.bias"))


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("head.fc_out.weight"), "missing from the checkpoint.*head.fc_out.weight"),
    (lambda s: s.update({"head.extra.weight": torch.zeros(1)}), "does not have.*head.extra.weight"),
    (lambda s: s.update({"head.fc_out.weight": torch.zeros(3, 3)}), "another shape.*head.fc_out.weight"),
])
def test_strict_loading_names_what_does_not_fit(change, message):
    state = released()
    change(state)
    net = reid_tiny(num_classes=5)
    before = {key: value.clone() for key, value in net.state_dict().items()}
    with pytest.raises(ReIDWeightsError, match=message):
        load_reid_weights(net, {"state_dict": state})
    assert all(torch.equal(value, net.state_dict()[key]) for key, value in before.items())  # unchanged


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="nowhere.pth"):
        load_reid_weights(reid_tiny(), tmp_path / "nowhere.pth")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt.pth"):
        load_reid_weights(reid_tiny(), corrupt)
