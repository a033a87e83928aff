"""ATOM's ``default`` parameters run the published tracker: each published rule against numbers
derived by hand from the rule (the item numbers are those of the issue that listed where the
tracker departed from it)."""

import math

import pytest
import torch

from ltr.models.tracking.atom import atom_resnet_tiny
from pytracking.libs.tensorlist import TensorList
from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.parameter.atom.default_vot import parameters as vot_parameters
from pytracking.parameter.atom.deterministic import parameters as deterministic_parameters
from pytracking.parameter.atom.improved import parameters as improved_parameters
from pytracking.tracker.atom import classifier as classifier_module
from pytracking.tracker.atom.atom import ATOM, initial_target_scale, sample_size
from pytracking.tracker.atom.box_refinement import RefinementParams, optimize_boxes, refine
from pytracking.tracker.atom.classifier import OnlineClassifier, SampleMemory
from pytracking.tracker.atom.localization import (HARD_NEGATIVE, NORMAL, NOT_FOUND, UNCERTAIN, LocalizationParams,
                                                  interpolate_scores, localize)
from pytracking.tracker.atom.network import AtomNetWrapper

from .conftest import moving_square


# 1. Scores are interpolated to one cell per sample pixel ------------------------------------

def test_scores_are_interpolated_to_pixel_resolution_around_the_centre():
    # An 18 x 18 map of a 4 x 4 filter whose cell 9 is the sample centre. A cosine peaking a
    # quarter cell right of it peaks 4 sample pixels right of the output's centre (144, 144).
    cells = torch.arange(18, dtype=torch.float64)
    scores = torch.cos(2 * math.pi * (cells - 9.25) / 18).expand(1, 18, 18).clone()
    out = interpolate_scores(scores, (288, 288), filter_size=4)
    assert out.shape == (1, 288, 288)
    row, column = divmod(int(out[0].argmax()), 288)
    assert column == 148
    # Output pixel d from the centre is cell 9 + d / 16: cos(2 pi (d - 4) / 288).
    torch.testing.assert_close(out[0, 100], torch.cos(2 * math.pi * (torch.arange(288.0, dtype=torch.float64)
                                                                     - 148) / 288), atol=1e-9, rtol=0)
    # An odd filter's centre is cell (18 - 1) / 2 = 8.5: a peak at cell 9 is 8 pixels right.
    peaked = torch.cos(2 * math.pi * (cells - 9) / 18).expand(1, 18, 18).clone()
    assert int(interpolate_scores(peaked, (288, 288), filter_size=3)[0, 0].argmax()) == 152


def test_the_output_window_multiplies_the_map_centred_at_zero_displacement():
    scores = torch.ones(1, 6, 6)
    window = torch.zeros(12, 12)
    window[0, 1] = 1.0  # zero displacement is index 0 before the roll: one pixel right of it
    out = interpolate_scores(scores, (12, 12), filter_size=4, window=window)
    assert torch.nonzero(out[0].abs() > 1e-6).tolist() == [[6, 7]]


def test_default_parameters_sample_288_pixels_and_score_every_pixel(tracker_run):
    tracker = tracker_run(default_parameters(), image_sample_size=288)
    assert tracker.sample_sz.tolist() == [288.0, 288.0] and tracker.output_sz == 288
    assert tracker.classifier.output_sz == tracker.classifier.feature_sz == 18


# 2. The diagonal preconditioner of the first frame only -----------------------------------

def test_preconditioner_is_filter_reg_and_projection_reg_then_none(monkeypatch):
    seen = {}

    class Recording:
        def __init__(self, name, cls):
            self.name, self.cls = name, cls

        def __call__(self, problem, variable, **kwargs):
            seen[self.name] = (problem, kwargs)
            return self.cls(problem, variable, **kwargs)

    monkeypatch.setattr(classifier_module, "GaussNewtonCG", Recording("gn", classifier_module.GaussNewtonCG))
    monkeypatch.setattr(classifier_module, "ConjugateGradient",
                        Recording("cg", classifier_module.ConjugateGradient))
    classifier = learned_classifier(filter_reg=0.1, projection_reg=1e-4)
    classifier.optimize(2)
    problem, gn_options = seen["gn"]
    residual = TensorList([torch.ones(1, 4, 4, 4), torch.ones(4, 8, 1, 1)])
    direction = problem.M1(residual)
    assert direction[0].unique().tolist() == pytest.approx([10.0])
    assert direction[1].unique().tolist() == pytest.approx([1e4])
    # 4. Gauss-Newton runs Fletcher-Reeves; the filter updates follow fletcher_reeves (False).
    assert gn_options["fletcher_reeves"] is True
    problem, cg_options = seen["cg"]
    assert problem.precond is None and problem.M1(residual) is residual
    assert cg_options["fletcher_reeves"] is False


def test_energy_preconditioner_is_an_option():
    classifier = learned_classifier(preconditioner="energy")
    problem = classifier_module._ConvProblem(*classifier.memory.active(), filter_reg=0.1,
                                             activation=classifier.activation, precond=None)
    precond = classifier._energy_preconditioner(*classifier.memory.active()[::2])
    # Per channel: 0.75 * 16 * weighted mean square of the projected samples + 0.25 * filter_reg.
    samples, _, weights = classifier.memory.active()
    energy = (weights.view(-1, 1, 1, 1) * samples ** 2).sum(0).mean((-2, -1)) * 16
    torch.testing.assert_close(precond[0][0, :, 0, 0], 0.75 * energy + 0.025)
    assert problem.precond is None
    with pytest.raises(ValueError, match="preconditioner"):
        OnlineClassifier(feature_sz=6, preconditioner="jacobi")


# 3. Score maps and labels are feature_sz x feature_sz -------------------------------------

def test_scores_and_labels_are_the_feature_grid():
    classifier = OnlineClassifier(feature_sz=18, compressed_dim=4, filter_init="zeros")
    classifier.filter = torch.zeros(1, 4, 4, 4)
    classifier.filter[0, :, 2, 2] = 1.0  # correlation picks feature (i, j) for score (i, j)
    features = torch.zeros(1, 4, 18, 18)
    features[0, :, 5, 7] = 1.0
    scores = classifier.scores(features)
    assert scores.shape == (1, 18, 18) and divmod(int(scores[0].argmax()), 18) == (5, 7)
    # A target at the sample centre: its label peaks half a cell past the middle (8.5), at cell 9.
    label = classifier.label(torch.tensor([0.5, 0.5]), sigma=1.0)
    assert label.shape == (1, 1, 18, 18) and label[0, 0, 9, 9].item() == 1.0
    assert label[0, 0, 9, 10].item() == pytest.approx(math.exp(-0.5))


# 5. The sample memory's weights -----------------------------------------------------------

def memory(count=30, capacity=40, init_min_weight=0.25):
    return SampleMemory(capacity, torch.zeros(count, 1, 2, 2), torch.zeros(count, 1, 2, 2),
                        init_min_weight=init_min_weight)


def add(store, value, learning_rate):
    return store.add(torch.full((1, 1, 2, 2), float(value)), torch.zeros(1, 1, 2, 2), learning_rate)


def test_first_update_and_hard_negative_weights():
    store = memory()
    assert add(store, 1, 0.01) == 30
    # First update: the others divided by 0.99 (sum 1 / 0.99), the new one 0.01, normalised.
    first = 0.01 / (1 / 0.99 + 0.01)
    assert store.weights[30].item() == pytest.approx(first, rel=1e-6) and first == pytest.approx(0.0098, abs=1e-4)
    assert store.weights[0].item() == pytest.approx(1 / 30 / 0.99 / (1 / 0.99 + 0.01), rel=1e-6)
    # A hard negative (0.02) gets the previous sample's weight divided by 0.98: 1.02 times it.
    assert add(store, 2, 0.02) == 31
    assert (store.weights[31] / store.weights[30]).item() == pytest.approx(1 / 0.98, rel=1e-6)
    assert store.weights.sum().item() == pytest.approx(1.0)


def test_initial_share_floor_and_replacement():
    store = memory(count=2, capacity=4, init_min_weight=0.5)
    add(store, 1, 0.5)  # initial 0.5, 0.5 / 0.5 = 1 each -> weights 1, 1, 0.5 -> share 0.8
    add(store, 2, 0.5)  # new: 0.2 / 0.5 = 0.4 -> 0.4, 0.4, 0.2, 0.4; total 1.4 -> share 0.571
    torch.testing.assert_close(store.weights, torch.tensor([0.4, 0.4, 0.2, 0.4]) / 1.4)
    index = add(store, 3, 0.5)  # full: replaces the lightest non-initial sample, slot 2
    assert index == 2 and store.samples[2, 0, 0, 0].item() == 3.0
    # slot 2 gets slot 3's 0.4 / 1.4 / 0.5: weights 2/7, 2/7, 4/7, 2/7 (sum 10/7): share 0.4 < 0.5,
    # so all are divided by 0.5 + 6/10 and the initial ones set to 0.25 (the total exceeds 1).
    raw = torch.tensor([2.0, 2.0, 4.0, 2.0]) / 10
    expected = raw / (0.5 + raw[2:].sum())
    expected[:2] = 0.25
    torch.testing.assert_close(store.weights, expected)
    assert store.weights.sum().item() == pytest.approx(0.25 * 2 + 0.6 / 1.1)


def test_without_a_floor_initial_samples_can_be_replaced():
    store = memory(count=2, capacity=3, init_min_weight=None)
    add(store, 1, 0.5)  # 1/2 / 0.5 = 1 each and 0.5 new: 0.4, 0.4, 0.2
    torch.testing.assert_close(store.weights, torch.tensor([0.4, 0.4, 0.2]))
    # Full: slot 2 is the lightest; it gets its own 0.2 / 0.5 = 0.4: all 1/3.
    assert add(store, 2, 0.5) == 2
    torch.testing.assert_close(store.weights, torch.full((3,), 1 / 3))
    # Ties go to the first slot: an initial sample, which a floor would have protected.
    assert add(store, 3, 0.5) == 0 and store.samples[0, 0, 0, 0].item() == 3.0


# 6. Update labels keep the first frame's width ---------------------------------------------

def test_labels_keep_the_first_frames_width_after_a_scale_change(tracker_run):
    params = default_parameters()
    params.train_skipping = 1000  # no filter update that would need the memory's old labels
    tracker = tracker_run(params, frames=1)
    # Box 24 x 24 brought to 144^2 / 25 sample pixels: 28.8 pixels; the sample is 160 pixels (an
    # even map of 10 cells of 16 pixels): sigma = 0.25 * 28.8 / 16 cells.
    sigma = 0.25 * 28.8 / 16
    assert tracker.sigma == pytest.approx(sigma, rel=1e-6)
    tracker.target_scale = tracker.target_scale * 2
    tracker.target_sz = tracker.target_sz * 2
    images, _ = moving_square()
    flag = tracker.track(images[2])["flag"]
    assert flag not in (NOT_FOUND, UNCERTAIN)
    label = tracker.classifier.memory.labels[tracker.classifier.memory.previous_index, 0].double()
    row, column = divmod(int(label.argmax()), label.shape[-1])
    # For a Gaussian on a unit grid the second difference of log values is -1 / sigma^2.
    logs = label[row, column - 1:column + 2].log()
    assert (-1 / (logs[0] - 2 * logs[1] + logs[2])).sqrt().item() == pytest.approx(sigma, rel=1e-4)


# 7. The refined box is taken as it is ------------------------------------------------------

def test_refined_state_is_not_clamped_unless_asked(monkeypatch, tracker_run):
    import pytracking.tracker.atom.atom as atom_module

    for clamp in (False, True):
        params = default_parameters()
        params.clamp_refined_state = clamp
        tracker = tracker_run(params, frames=1)
        scale = torch.tensor(float(tracker.target_scale))
        # The IoU predictor returns a box far left of the image, 20 times the first frame's size.
        huge = tracker.base_target_sz / scale * 20
        box = torch.cat([torch.tensor([-500.0, 60.0]), huge])
        monkeypatch.setattr(atom_module, "refine", lambda *args, **kwargs: (box, 0.9))
        monkeypatch.setattr(tracker.net, "iou_features", lambda features, window: ())
        monkeypatch.setattr(tracker.net, "modulated_iou_features", lambda modulation, features: (torch.zeros(1),))
        sample_pos = tracker.pos.round()
        tracker._refine({}, sample_pos, scale, True)
        if clamp:
            assert tracker.pos[0].item() == pytest.approx(-0.3 * tracker.target_sz[0].item())
            assert float(tracker.target_scale) == pytest.approx(float(tracker.max_scale_factor))
        else:
            # Published: the centre x + w / 2 against the sample centre (160 - 1) / 2, scaled back.
            assert tracker.sample_sz[0].item() == 160
            expected_x = (-500.0 + huge[0].item() / 2 - 79.5) * scale.item() + sample_pos[0].item()
            assert tracker.pos[0].item() == pytest.approx(expected_x, rel=1e-5)
            assert float(tracker.target_scale) == pytest.approx(20.0, rel=1e-5)
            assert float(tracker.target_scale) > float(tracker.max_scale_factor)


# 8. Projection and filter initialisation; random draws that can be switched off --------------

def test_pca_projection_and_zero_or_random_filter():
    # Three channels varying along (1, 1, 0) (large) and (0, 0, 1) (small) only, with two
    # uncorrelated zero-mean patterns: the principal directions are exactly those.
    a = (-1.0) ** torch.arange(6.0).view(1, 1, 6, 1).expand(1, 1, 6, 6)
    b = (-1.0) ** torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 6, 6)
    features = torch.cat([3 * a, 3 * a, 0.5 * b], 1).expand(4, 3, 6, 6)
    classifier = OnlineClassifier(feature_sz=6, compressed_dim=2, projection_init="pca",
                                  filter_init="zeros")
    projection = classifier._initial_projection(features, 2)[:, :, 0, 0]
    torch.testing.assert_close(projection[0].abs(), torch.tensor([1, 1, 0]) / math.sqrt(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(projection[1].abs(), torch.tensor([0.0, 0.0, 1.0]), atol=1e-5, rtol=0)
    assert torch.equal(classifier._initial_filter(features, 2), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="compressed_dim 4 exceeds"):
        classifier._initial_projection(features, 4)
    random = OnlineClassifier(feature_sz=6, compressed_dim=64, filter_size=8,
                              generator=torch.Generator().manual_seed(1))
    filt = random._initial_filter(torch.zeros(1, 3, 6, 6), 64)
    # Published: normal with standard deviation 1 / (number of filter elements) = 1 / 4096.
    assert filt.std().item() == pytest.approx(1 / 4096, rel=0.05)
    projection = random._initial_projection(torch.zeros(1, 400, 6, 6), 64)
    assert projection.std().item() == pytest.approx(1 / 20, rel=0.05)


def test_deterministic_parameters_switch_every_random_draw_off(tracker_run):
    runs = {}
    for name, make in (("default", default_parameters), ("deterministic", deterministic_parameters)):
        for seed in (0, 1):
            params = make()
            params.seed = seed
            runs[name, seed] = tracker_run(params, frames=6).boxes
    assert runs["deterministic", 0] == runs["deterministic", 1]
    assert runs["default", 0] != runs["default", 1]
    params = deterministic_parameters()
    assert (params.random_shift_factor, params.num_init_random_boxes, params.proj_init_method,
            params.filter_init_method) == (0, 0, "pca", "zeros") and "dropout" not in params.augmentation


# 9. Whole-pixel samples; the IoU features of the whole map ---------------------------------

def test_published_sampling_geometry(tracker_run):
    params = default_parameters()
    assert params.crop_mode == "whole_pixel" and params.iou_window_margin is None
    assert not params.fold_batch_norm and not params.channels_last
    tracker = tracker_run(params)
    # The geometry takes the position rounded (halves to even) as the sample's centre.
    assert tracker._sample_centre(torch.tensor([10.5, 11.5])).tolist() == [10.0, 12.0]
    # A box [x, y, w, h] has its centre at the pixel index x + (w - 1) / 2.
    assert tracker.pos.tolist() == [60 + 11.5, 60 + 11.5]
    improved = improved_parameters()
    assert (improved.crop_mode, improved.iou_window_margin, improved.preconditioner,
            improved.clamp_refined_state) == ("subpixel", 1.0, "energy", True)


def test_sample_size_and_initial_scale_rules():
    # Side round(sqrt(area)) moved to the middle of a stride: an even 16-pixel feature map.
    assert sample_size(torch.tensor([57.6, 57.6]), 5, 16).item() == 288
    assert sample_size(torch.tensor([60.0, 60.0]), 5, 16).item() == 288  # 300 -> 288
    assert sample_size(torch.tensor([62.0, 62.0]), 5, 16).item() == 320  # 310 -> 320
    assert sample_size(torch.tensor([57.6, 57.6]), 5, 16, odd_features=True).item() == 304
    # 40 x 40 at 5x: 200^2 sample pixels, brought to 288^2: 200 / 288 image pixels per sample pixel.
    assert initial_target_scale(torch.tensor([40.0, 40.0]), 5, 288 ** 2, 288 ** 2) == pytest.approx(200 / 288)
    assert initial_target_scale(torch.tensor([40.0, 40.0]), 5, 100 ** 2, 300 ** 2) == 1.0


# Localisation ---------------------------------------------------------------------------------

def peaks(*spots, size=19):
    scores = torch.zeros(1, size, size)
    for (x, y), value in spots:
        scores[0, y, x] = value
    return scores


SIZE = torch.tensor([2.0, 2.0])


def test_localisation_flags():
    # Centre cell 9 of a 19-cell map; displacements from it.
    assert localize(peaks(((9, 9), 0.2)), SIZE).flag == NOT_FOUND
    found = localize(peaks(((11, 8), 0.9)), SIZE)
    assert found.flag == NORMAL and found.displacement.tolist() == [2.0, -1.0] and found.scale_index == 0
    # A second peak above half the first, outside the neighbourhood: a hard negative.
    assert localize(peaks(((9, 9), 0.9), ((16, 16), 0.6)), SIZE).flag == HARD_NEGATIVE
    # Two near-equal peaks, the stronger beyond 0.8 * 19 / 2 = 7.6 cells: the near one is taken.
    far = localize(peaks(((17, 17), 0.9), ((10, 9), 0.85)), SIZE)
    assert far.flag == HARD_NEGATIVE and far.displacement.tolist() == [1.0, 0.0]
    assert far.max_score == pytest.approx(0.85)
    # Both close to the centre: no way to tell them apart.
    assert localize(peaks(((9, 9), 0.9), ((13, 9), 0.85)), SIZE).flag == UNCERTAIN
    assert localize(peaks(((9, 9), 0.2)), SIZE, LocalizationParams(advanced=False)).flag == NORMAL


def test_neighbourhood_mask_rounds_halves_to_even():
    # Peak at column 9; a neighbourhood 3 wide masks round(9 - 1.5) = 8 .. round(9 + 1.5 + 1) = 12
    # (halves to even), exclusive: columns 8 to 11. A second peak at column 11 is masked, at 12 not.
    inside = localize(peaks(((9, 9), 1.0), ((11, 9), 0.6)), torch.tensor([3.0, 3.0]))
    outside = localize(peaks(((9, 9), 1.0), ((12, 9), 0.6)), torch.tensor([3.0, 3.0]))
    assert inside.flag == NORMAL and outside.flag == HARD_NEGATIVE
    # 7.5 rounds to 8, so a neighbourhood of 5 masks from column 6 on (round(9 - 2.5) = round(6.5) = 6).
    left = localize(peaks(((9, 9), 1.0), ((5, 9), 0.6)), torch.tensor([5.0, 5.0]))
    assert left.flag == HARD_NEGATIVE


# Refinement -----------------------------------------------------------------------------------

def test_refinement_clamps_sides_to_one_pixel_before_the_aspect_test():
    def shrink(boxes):  # the IoU falls with the size: every step shrinks the box
        return -boxes[..., 2:].sum(-1)

    start = torch.tensor([10.0, 10.0, 0.9, 0.5])
    box, _ = refine(shrink, start, RefinementParams(num_init_random_boxes=0, iterations=1, maximal_aspect_ratio=1.5))
    # w = 0.9 - 0.9 = 0, h = 0.5 - 0.5 = 0 both clamp to 1: aspect 1, kept.
    assert box[2:].tolist() == [1.0, 1.0]


def test_step_decay_takes_a_worse_step_back():
    calls = []

    def parabola(boxes):
        calls.append(boxes[0, 0, 0].item())
        return -(boxes[..., 0] - 3.0) ** 2

    start = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    boxes, _ = optimize_boxes(parabola, start, RefinementParams(iterations=3, step_length=2.0, step_length_decay=0.5))
    # x = 0: IoU -9 (better than nothing), gradient 6, step 2 * 6 = 12 -> x = 12. IoU -81, worse:
    # the step is taken back (x = 0) and its length halved. IoU -9 beats -81: step 1 * 6 -> x = 6.
    assert calls == [0.0, 12.0, 0.0] and boxes[0, 0].item() == 6.0
    calls.clear()
    boxes, _ = optimize_boxes(parabola, start, RefinementParams(iterations=2, step_length=2.0))
    # Without decay every step is taken: 0 -> 12 -> 12 + 2 * (-18) = -24.
    assert calls == [0.0, 12.0] and boxes[0, 0].item() == -24.0


# The published VOT settings -------------------------------------------------------------------

def test_vot_parameters_are_the_published_ones():
    params = vot_parameters()
    assert (params.image_sample_size, params.search_area_scale, params.learning_rate, params.sample_memory_size,
            params.init_samples_minimum_weight, params.window_output, params.target_not_found_threshold,
            params.distractor_threshold, params.hard_negative_threshold, params.displacement_scale,
            params.hard_negative_learning_rate) == (224, 4, 0.0075, 250, None, True, -1, 100, 0.3, 0.7, 0.02)


# Helpers --------------------------------------------------------------------------------------

def learned_classifier(**kwargs):
    classifier = OnlineClassifier(feature_sz=6, compressed_dim=4, generator=torch.Generator().manual_seed(0),
                                  **kwargs)
    features = torch.randn(5, 8, 6, 6, generator=torch.Generator().manual_seed(1))
    labels = torch.cat([classifier.label(torch.tensor([0.5, 0.5]), 1.0)] * 5)
    classifier.initialize(features, labels, num_gn_iter=2, num_cg_iter=3)
    return classifier


@pytest.fixture(scope="module")
def tiny_network():
    torch.manual_seed(0)
    return AtomNetWrapper.from_network(atom_resnet_tiny(), device="cpu", fold_batch_norm=False, channels_last=False)


@pytest.fixture
def tracker_run(tiny_network):
    """Run ATOM with the tiny network on the moving square: 144^2-pixel samples (whose side the
    sample size rule makes 160), a small classifier."""

    def run(params, frames=0, image_sample_size=144):
        params.image_sample_size, params.compressed_dim = image_sample_size, 16
        params.init_CG_iter, params.init_GN_iter = 10, 2
        tracker = ATOM(params, network=tiny_network)
        images, boxes = moving_square()
        tracker.initialize(images[0], {"init_bbox": boxes[0].tolist()})
        tracker.boxes = [tracker.track(image)["target_bbox"] for image in images[1:1 + frames]]
        return tracker

    return run


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tracks_as_the_cpu_does():
    images, boxes = moving_square()
    runs = []
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        network = AtomNetWrapper.from_network(atom_resnet_tiny(), device=device, fold_batch_norm=False,
                                          channels_last=False)
        params = deterministic_parameters()
        params.image_sample_size, params.compressed_dim = 160, 16
        tracker = ATOM(params, network=network)
        tracker.initialize(images[0], {"init_bbox": boxes[0].tolist()})
        runs.append([tracker.track(image) for image in images[1:6]])
    for cpu, cuda in zip(*runs):
        # Rounding differs between the devices and the online learning magnifies it: close, not equal.
        assert cpu["flag"] == cuda["flag"]
        assert max(abs(a - b) for a, b in zip(cpu["target_bbox"], cuda["target_bbox"])) < 2.0
