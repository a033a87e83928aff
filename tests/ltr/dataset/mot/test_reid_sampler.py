"""The P x K sampler (mmtracking's triplet_sampling) and the crop processing."""

import numpy as np
import pytest
import torch

from ltr.data.reid_sampler import ReIDProcessing, ReIDSampler


class Crops:
    """Ten identities with 1 to 10 crops; crop i is filled with the value i."""

    def __init__(self):
        self.labels = np.array([label for label in range(10) for _ in range(label + 1)])

    def get_name(self):
        return "crops"

    def get_crop(self, index):
        return np.full((6, 4, 3), index, np.uint8)


def identity_processing(crop_size=(6, 4)):
    return ReIDProcessing(crop_size=crop_size, flip_probability=0.0, mean=(0, 0, 0), std=(1 / 255,) * 3)


def test_p_identities_times_k_crops_the_anchors_first():
    data = Crops()
    sampler = ReIDSampler(data, processing=identity_processing(), ids_per_batch=4, crops_per_id=3, seed=1)
    assert len(sampler) == len(data.labels)  # one sample anchored at each crop
    for index in (0, 17, 54):
        sample = sampler[index]
        labels = sample["labels"].view(4, 3)
        assert sample["images"].shape == (12, 3, 6, 4)
        assert labels[0, 0].item() == data.labels[index]
        assert (labels == labels[:, :1]).all() and len(set(labels[:, 0].tolist())) == 4
        crop_ids = sample["images"][:, 0, 0, 0].long()
        assert torch.equal(torch.as_tensor(data.labels)[crop_ids], sample["labels"])  # each crop of its identity
    # K with replacement: identity 0 has one crop, drawn K times
    assert sampler[0]["images"][:3, 0, 0, 0].tolist() == [0.0, 0.0, 0.0]


def test_reseeding_repeats_the_samples():
    sampler = ReIDSampler(Crops(), processing=identity_processing(), ids_per_batch=3, crops_per_id=2,
                          samples_per_epoch=7)
    sampler.reseed(5)
    first = [sampler[i]["labels"].tolist() for i in range(7)]
    sampler.reseed(5)
    assert [sampler[i]["labels"].tolist() for i in range(7)] == first and len(sampler) == 7


def test_too_few_identities():
    with pytest.raises(ValueError, match="crops has 10 identities, fewer than the 11"):
        ReIDSampler(Crops(), processing=identity_processing(), ids_per_batch=11)


def test_processing_resizes_flips_and_normalises():
    crop = np.zeros((2, 2, 3), np.uint8)
    crop[:, 1] = 255
    processing = ReIDProcessing(crop_size=(2, 4), flip_probability=1.0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    out = processing([crop])
    # bilinear 2 -> 4 columns: 0, 63.75, 191.25, 255; flipped; (x / 255 - 0.5) / std
    row = np.array([255, 191.25, 63.75, 0]) / 255 - 0.5
    assert out.shape == (1, 3, 2, 4)
    np.testing.assert_allclose(out[0, :, 0].numpy(), [row / 0.25, row / 0.5, row / 1.0], atol=1e-5)
