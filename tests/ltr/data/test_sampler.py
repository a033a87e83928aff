"""The sampler refuses, when it is built, datasets it could never draw from."""

import pytest

from ltr.data.sampler import ATOMSampler, TrackingSampler


class Empty:
    def get_name(self) -> str:
        return "empty-set"

    def get_num_sequences(self) -> int:
        return 0

    def is_video_sequence(self) -> bool:
        return True


class One(Empty):
    def get_name(self) -> str:
        return "one"

    def get_num_sequences(self) -> int:
        return 1


def test_empty_dataset_is_refused_at_construction_naming_it():
    with pytest.raises(ValueError, match="empty-set have no sequences.*list.txt"):
        ATOMSampler([One(), Empty()], None, samples_per_epoch=4, max_gap=5)


def test_empty_dataset_of_weight_zero_is_allowed():
    sampler = TrackingSampler([One(), Empty()], [1, 0], samples_per_epoch=4, max_gap=5, num_test_frames=1)
    assert sampler.p_datasets == [1.0, 0.0]
