"""The IoU predictor's test features computed only in the cells the refined boxes read
(LazyModulatedIouFeatures): the footprint of Precise RoI Pooling is a superset of what it reads,
cells computed in a window equal the whole map's bit for bit on the published network's sizes,
boxes that walk out of the computed cells get them computed, and a tracker run gives the boxes
of the whole map's run."""

import numpy as np
import pytest
import torch

from external.PreciseRoIPooling import prroi_pool2d, prroi_pool2d_box_gradient
from ltr.models.bbreg.atom_iou_net import _rois
from ltr.models.tracking.atom import atom_resnet18, atom_resnet_tiny
from pytracking.tracker.atom.network import AtomNetWrapper, LazyModulatedIouFeatures, _aligned, pooling_footprint

from .conftest import moving_square, randomise_iou_batch_norm, track_with_atom


@pytest.fixture(scope="module")
def resnet18_head():
    """The published network's IoU head (random weights) on random backbone features of a
    288 x 288 sample: layer2 (1, 128, 36, 36), layer3 (1, 256, 18, 18)."""
    torch.manual_seed(0)
    wrapper = AtomNetWrapper.from_network(randomise_iou_batch_norm(atom_resnet18(backbone_pretrained=False)),
                                          device="cpu", fold_batch_norm=False, channels_last=False)
    generator = torch.Generator().manual_seed(5)
    features = {"layer2": torch.randn(1, 128, 36, 36, generator=generator).relu(),
                "layer3": torch.randn(1, 256, 18, 18, generator=generator).relu()}
    modulation = wrapper.iou_modulation(features, torch.tensor([[100.0, 110.0, 60.0, 50.0]]))
    return wrapper, features, modulation


def test_footprint_by_hand():
    # Scale 1/8: x 8..24 -> 1..3, y 16..40 -> 2..5; cols floor(1) - 1 = 0 .. ceil(3) + 1 = 4,
    # rows 1 .. 6 (ends excluded: 5 and 7).
    rois = torch.tensor([[0.0, 8.0, 16.0, 24.0, 40.0]])
    assert pooling_footprint(rois, 1 / 8, (36, 36)) == (1, 7, 0, 5)
    # Fractional: x 13..30 -> 1.625..3.75: cols 0 .. 5; y 100..120 -> 12.5..15: rows 11 .. 16.
    rois = torch.tensor([[0.0, 13.0, 100.0, 30.0, 120.0]])
    assert pooling_footprint(rois, 1 / 8, (36, 36)) == (11, 17, 0, 6)
    # The union over rois, clamped to the map; rois of no area, non-finite or outside read nothing.
    rois = torch.tensor([[0.0, 8.0, 16.0, 24.0, 40.0], [0.0, 200.0, 250.0, 400.0, 300.0],
                         [0.0, 5.0, 5.0, 5.0, 9.0], [0.0, float("nan"), 1.0, 2.0, 3.0]])
    assert pooling_footprint(rois, 1 / 8, (36, 36)) == (1, 36, 0, 36)
    assert pooling_footprint(rois[2:], 1 / 8, (36, 36)) is None
    assert pooling_footprint(torch.tensor([[0.0, 400.0, 400.0, 500.0, 500.0]]), 1 / 8, (36, 36)) is None


def test_cells_aligned_to_the_grid_by_hand():
    # Rows 3..9 -> 2..10 on a grid of 2; 4..8 stays; columns 0..35 of 36 -> 0..36 (clamped).
    assert _aligned((3, 9, 0, 35), 2, (36, 36)) == (2, 10, 0, 36)
    assert _aligned((4, 8, 4, 8), 2, (36, 36)) == (4, 8, 4, 8)
    # A grid of 4 on an 18-cell map: 13..17 -> 12..18 (the map's end, not 20).
    assert _aligned((13, 17, 1, 2), 4, (18, 18)) == (12, 18, 0, 4)
    assert _aligned((5, 6, 7, 8), 1, (18, 18)) == (5, 6, 7, 8)


@pytest.mark.parametrize("scale, pooled", [(1 / 8, 5), (1 / 16, 3)])
def test_pooling_reads_only_the_footprint(scale, pooled):
    """Forward and box gradient are unchanged, bit for bit, when every cell outside the
    footprint changes, for boxes with edges on and off whole cells, at the map's border and
    beyond it."""
    generator = torch.Generator().manual_seed(7)
    size = (36, 36) if scale == 1 / 8 else (18, 18)
    features = torch.randn(1, 16, *size, generator=generator)
    boxes = torch.cat([torch.rand(40, 2, generator=generator) * 300 - 10,
                       torch.rand(40, 2, generator=generator) * 80 + 1], 1)
    boxes[:5] = boxes[:5].round()  # edges on whole cells of the map (multiples of 8 and 16 below)
    boxes[5:10, :2] = (boxes[5:10, :2] / 16).round() * 16
    boxes[5:10, 2:] = (boxes[5:10, 2:] / 16).round().clamp(min=1) * 16
    boxes[10] = torch.tensor([-30.0, -20.0, 40.0, 50.0])
    for box in boxes:
        rois = _rois(box.view(1, 1, 4))
        cells = pooling_footprint(rois, scale, size)
        changed = torch.randn(features.shape, generator=generator) * 1e3
        if cells is not None:
            row0, row1, col0, col1 = cells
            changed[..., row0:row1, col0:col1] = features[..., row0:row1, col0:col1]
        expected = prroi_pool2d(features, rois, pooled, pooled, scale)
        got = prroi_pool2d(changed, rois, pooled, pooled, scale)
        assert torch.equal(got, expected)
        weight = torch.randn(expected.shape, generator=generator)
        assert torch.equal(prroi_pool2d_box_gradient(changed, rois, got, weight, pooled, pooled, scale),
                           prroi_pool2d_box_gradient(features, rois, expected, weight, pooled, pooled, scale))


def test_cells_equal_the_whole_map_bit_for_bit_at_the_published_sizes(resnet18_head):
    wrapper, features, _ = resnet18_head
    full = wrapper.iou_features(features)
    windows = [(0, 36, 0, 36), (0, 1, 0, 1), (35, 36, 35, 36), (9, 27, 13, 26), (27, 29, 13, 27),
               (9, 27, 26, 27), (3, 15, 5, 15), (0, 20, 10, 36), (17, 18, 0, 36), (5, 30, 30, 33)]
    generator = torch.Generator().manual_seed(3)
    for _ in range(40):
        row0, col0 = (int(v) for v in torch.randint(0, 35, (2,), generator=generator))
        row1, col1 = (int(v) for v in torch.randint(1, 37, (2,), generator=generator))
        windows.append((min(row0, row1 - 1), max(row1, row0 + 1), min(col0, col1 - 1), max(col1, col0 + 1)))
    for level, layer in enumerate(("layer2", "layer3")):
        for row0, row1, col0, col1 in windows:
            if level == 1:  # the same windows on the 18 x 18 map, never empty
                row0, row1, col0, col1 = row0 // 2, max(row1 // 2, row0 // 2 + 1), col0 // 2, max(col1 // 2, col0 // 2 + 1)
            cells = (row0, row1, col0, col1)
            got = wrapper.iou_feature_cells(features[layer], level, cells)
            assert torch.equal(got, full[level][..., row0:row1, col0:col1]), (layer, cells)


def _predictions(wrapper, maps, boxes):
    iou, gradient = wrapper.predict_iou_and_gradient(maps, boxes)
    return iou, gradient


def test_lazy_maps_give_the_whole_maps_predictions_as_boxes_walk_out(resnet18_head):
    wrapper, features, modulation = resnet18_head
    whole = wrapper.modulated_iou_features(modulation, wrapper.iou_features(features))
    lazy = wrapper.lazy_modulated_iou_features(modulation, features)
    assert isinstance(lazy, LazyModulatedIouFeatures) and lazy.computed == [None, None]
    boxes = torch.tensor([[[100.0, 110.0, 60.0, 50.0], [104.0, 106.0, 50.0, 56.0], [96.0, 113.0, 66.0, 48.0]]])
    history = []
    # Channels-last on the CPU, the layout Precise RoI Pooling reads across the channels.
    assert all(m.is_contiguous(memory_format=torch.channels_last) for m in whole)
    for step in range(6):
        maps = lazy(boxes)
        assert all(m.is_contiguous(memory_format=torch.channels_last) for m in maps)
        history.append(list(lazy.computed))
        for level in range(2):
            row0, row1, col0, col1 = lazy.computed[level]
            assert torch.equal(maps[level][..., row0:row1, col0:col1], whole[level][..., row0:row1, col0:col1])
            outside = maps[level].clone()
            outside[..., row0:row1, col0:col1] = 0
            assert outside.abs().sum() == 0  # nothing else computed
        got, expected = _predictions(wrapper, maps, boxes), _predictions(wrapper, whole, boxes)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
        boxes = boxes + torch.tensor([14.0, -9.0, 6.0, 3.0])  # walks right and up, grows
    # The computed cells grew (in bands) as the boxes left them, never shrank, and stayed a part of the map.
    assert history[0][0] != history[-1][0]
    for before, after in zip(history, history[1:]):
        for (a0, a1, a2, a3), (b0, b1, b2, b3) in zip(before, after):
            assert b0 <= a0 and b1 >= a1 and b2 <= a2 and b3 >= a3
    assert history[-1][0] != (0, 36, 0, 36)
    # A box already inside the computed cells computes nothing more.
    computed = list(lazy.computed)
    lazy(boxes - torch.tensor([14.0, -9.0, 6.0, 3.0]))
    assert lazy.computed == computed


def test_whole_map_where_cells_are_not_known_exact(resnet18_head):
    _, features, modulation = resnet18_head
    torch.manual_seed(0)
    net = atom_resnet_tiny()
    amp = AtomNetWrapper.from_network(net, device="cpu", amp="bfloat16", fold_batch_norm=False)
    channels_last = AtomNetWrapper.from_network(net, device="cpu", fold_batch_norm=False, channels_last=True)
    plain = AtomNetWrapper.from_network(net, device="cpu", fold_batch_norm=False, channels_last=False)
    assert not amp.lazy_iou_features_apply() and not channels_last.lazy_iou_features_apply()
    assert plain.lazy_iou_features_apply()
    tiny_features = {"layer2": torch.rand(1, 32, 12, 12), "layer3": torch.rand(1, 64, 6, 6)}
    # The tiny maps (32 x 12 x 12, 64 x 6 x 6) run natively on the whole map, so even in float32
    # row-major their cells are not known exact: each level is computed whole at its first use.
    assert not plain.iou_cells_exact(tiny_features["layer2"], 0)
    assert not plain.iou_cells_exact(tiny_features["layer3"], 1)
    for wrapper in (amp, plain):
        tiny_modulation = wrapper.iou_modulation(tiny_features, torch.tensor([[30.0, 30.0, 20.0, 20.0]]))
        lazy = wrapper.lazy_modulated_iou_features(tiny_modulation, tiny_features)
        maps = lazy(torch.tensor([[[30.0, 30.0, 10.0, 10.0]]]))
        assert lazy.computed == [(0, 12, 0, 12), (0, 6, 0, 6)]
        expected = wrapper.modulated_iou_features(tiny_modulation, wrapper.iou_features(tiny_features))
        assert all(torch.equal(g, e) for g, e in zip(maps, expected))


def test_tracker_boxes_equal_those_of_the_whole_map(monkeypatch):
    images, boxes = moving_square(frames=12)

    def run():
        torch.manual_seed(0)
        # layer2 and layer3 of the published network's widths (128, 256), maps of 36 and 18 cells.
        network = AtomNetWrapper.from_network(randomise_iou_batch_norm(atom_resnet_tiny(width=64)), device="cpu",
                                              fold_batch_norm=False, channels_last=False)
        return track_with_atom(network, images, boxes, sample_cells=18)

    computed = []
    compute = LazyModulatedIouFeatures._compute
    monkeypatch.setattr(LazyModulatedIouFeatures, "_compute",
                        lambda self, level, features, cells: computed.append(cells) or compute(self, level, features,
                                                                                             cells))
    lazy = run()
    # Windows, not the whole 36 x 36 map, and some grown when boxes left them.
    assert computed and all((c[1] - c[0]) * (c[3] - c[2]) < 36 * 36 for c in computed)
    assert len(computed) > 2 * (len(images) - 1)
    monkeypatch.setattr(AtomNetWrapper, "lazy_iou_features_apply", lambda self: False)
    whole = run()
    assert np.isfinite(lazy).all()
    np.testing.assert_array_equal(lazy, whole)


def test_cells_exact_where_the_whole_map_runs_on_onednn(resnet18_head):
    from pytracking.tracker.atom.network import ONEDNN_MIN_INPUT_ELEMENTS

    wrapper, features, _ = resnet18_head
    # The published sizes: 128 x 36 x 36 and 256 x 18 x 18 inputs, past 20480 elements.
    assert wrapper.iou_cells_exact(features["layer2"], 0) and wrapper.iou_cells_exact(features["layer3"], 1)
    # 256 x 8 x 10 = 20480 is not past it (a batch-1 map run natively): not exact; 256 x 9 x 9 is.
    assert 256 * 8 * 10 == ONEDNN_MIN_INPUT_ELEMENTS
    assert not wrapper.iou_cells_exact(torch.rand(1, 256, 8, 10), 1)
    assert wrapper.iou_cells_exact(torch.rand(1, 256, 9, 9), 1)
    # A batch of two always runs on oneDNN; float64 and channels-last maps do not take the cells.
    assert wrapper.iou_cells_exact(torch.rand(2, 256, 4, 4), 1)
    assert not wrapper.iou_cells_exact(features["layer3"].double(), 1)
    channels_last = AtomNetWrapper.from_network(wrapper.net, device="cpu", fold_batch_norm=False, channels_last=True)
    assert not channels_last.iou_cells_exact(features["layer3"], 1)
