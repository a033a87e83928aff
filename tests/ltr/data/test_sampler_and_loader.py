import numpy as np
import pytest
import torch

from ltr.data.loader import LTRLoader, TooManyLoadFailures, ltr_collate
from ltr.data.sampler import ATOMSampler, TrackingSampler
from ltr.data.tensordict import TensorDict
from ltr.data.tensorlist import TensorList


def frame_ids(data):
    """(sequence, frame) of each train and test frame, read from the pixel the fake writes."""
    def ids(images):
        return [tuple(int(v) for v in img[0, 0, :2]) for img in images]
    return ids(data["train_images"]), ids(data["test_images"])


def test_only_visible_frames_within_the_gap(fake_dataset):
    visible = [[i % 3 != 0 for i in range(40)]]
    sampler = ATOMSampler([fake_dataset(visible)], None, samples_per_epoch=200, max_gap=4, lazy_frames=False, seed=1)
    for index in range(200):
        train, test = frame_ids(sampler[index])
        (s, f_train), (_, f_test) = train[0], test[0]
        assert visible[0][f_train] and visible[0][f_test]
        assert abs(f_train - f_test) <= 4


def test_causal_mode_puts_test_frames_after_train_frames(fake_dataset):
    visible = [[True] * 30]
    sampler = TrackingSampler([fake_dataset(visible)], None, 100, max_gap=5, num_test_frames=2,
                              num_train_frames=2, frame_sample_mode="causal", lazy_frames=False, seed=2)
    for index in range(100):
        train, test = frame_ids(sampler[index])
        base = train[0][1]
        assert all(base - 5 <= f <= base for _, f in train[1:])
        assert all(base < f <= base + 5 for _, f in test)


def test_gap_widens_when_no_visible_frame_is_near(fake_dataset):
    # Visible frames lie 30 apart: a max_gap of 2 reaches the next one only once the gap has
    # widened (by 5 per failed draw).
    visible = [[i % 30 == 0 for i in range(121)]]
    sampler = TrackingSampler([fake_dataset(visible)], None, 60, max_gap=2, num_test_frames=1,
                              frame_sample_mode="causal", lazy_frames=False, seed=3)
    gaps = []
    for index in range(60):
        train, test = frame_ids(sampler[index])
        assert visible[0][test[0][1]] and test[0][1] > train[0][1]
        gaps.append(test[0][1] - train[0][1])
    assert set(gaps) == {30}


def test_sequences_without_enough_visible_frames_are_skipped(fake_dataset):
    visible = [[True] * 10, [True] * 30, [False] * 25 + [True] * 4, [True] * 25]
    sampler = ATOMSampler([fake_dataset(visible)], None, 100, max_gap=50, lazy_frames=False, seed=4)
    sequences = {frame_ids(sampler[i])[0][0][0] for i in range(100)}
    assert sequences == {1, 3}


def test_image_datasets_repeat_their_frame_and_weights_choose_datasets(fake_dataset):
    images = fake_dataset([[True]] * 5, name="images", video=False)
    never = fake_dataset([[True] * 30], name="never")
    sampler = ATOMSampler([images, never], [1, 0], 50, max_gap=10, lazy_frames=False, seed=5)
    for index in range(50):
        data = sampler[index]
        assert data["dataset"] == "images"
        train, test = frame_ids(data)
        assert train[0] == test[0] and train[0][1] == 0


def test_seeded_streams_repeat_and_differ_between_seeds(fake_dataset):
    dataset = fake_dataset([[True] * 40] * 5)
    def stream(seed):
        sampler = ATOMSampler([dataset], None, 30, max_gap=10, lazy_frames=False)
        sampler.reseed(seed)
        return [frame_ids(sampler[i]) for i in range(30)]
    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_unreadable_frames_are_redrawn_and_counted(fake_dataset, caplog):
    dataset = fake_dataset([[True] * 30, [True] * 30], broken={(0, f) for f in range(30)})
    sampler = ATOMSampler([dataset], None, 20, max_gap=5, lazy_frames=False, seed=6)
    with caplog.at_level("WARNING"):
        samples = [sampler[i] for i in range(20)]
    assert all(frame_ids(d)[0][0][0] == 1 for d in samples)
    failures = sum(d["load_failures"] for d in samples)
    assert failures > 0
    assert "fake_0_" in caplog.text and sum("unreadable" in r.getMessage() for r in caplog.records) == failures


def test_loader_stops_past_one_percent_of_failures(fake_dataset):
    dataset = fake_dataset([[True] * 30, [True] * 30], broken={(0, f) for f in range(30)})
    sampler = ATOMSampler([dataset], None, 40, max_gap=5, lazy_frames=False, seed=6)
    loader = LTRLoader("train", sampler, batch_size=8, seed=1)
    with pytest.raises(TooManyLoadFailures, match="unreadable frames"):
        list(loader)
    tolerant = LTRLoader("train", sampler, batch_size=8, seed=1, max_failure_rate=10.0)
    assert len(list(tolerant)) == 5 and tolerant.load_failures > 0


def test_collate_stacks_along_the_chosen_dimension():
    batch = [TensorDict(img=torch.full((3, 4), float(i)), boxes=TensorList([torch.ones(2), torch.zeros(1)]),
                        name="a", count=i, nested=[torch.zeros(5)]) for i in range(6)]
    out = ltr_collate(batch, stack_dim=1)
    assert out["img"].shape == (3, 6, 4) and torch.equal(out["img"][0], torch.arange(6.0)[:, None].expand(6, 4))
    assert isinstance(out["boxes"], TensorList) and out["boxes"][0].shape == (2, 6)
    assert out["name"] == ["a"] * 6 and out["count"].tolist() == list(range(6))
    assert out["nested"][0].shape == (5, 6)


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_epochs_repeat_with_a_seed_and_workers_differ(fake_dataset, workers):
    dataset = fake_dataset([[True] * 40] * 6)
    sampler = ATOMSampler([dataset], None, 16, max_gap=10, lazy_frames=False)

    def epoch(seed, number):
        loader = LTRLoader("train", sampler, batch_size=4, num_workers=workers, seed=seed)
        loader.set_epoch(number)
        return [tuple(b["test_images"][0][:, 0, 0, 1].tolist() + b["test_images"][0][:, 0, 0, 0].tolist()) for b in loader]

    first = epoch(3, 1)
    assert first == epoch(3, 1)
    assert first != epoch(3, 2)
    if workers:
        # Workers take alternate batches: their streams must differ.
        assert first[0] != first[1]


class _Numbered(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        return TensorDict(img=torch.arange(12.0).view(3, 4) + 100 * index, arr=np.full((2, 2), index, np.uint8))


@pytest.mark.parametrize("stack_dim", [0, 1, -1])
def test_workers_collate_into_shared_memory_the_same_batches(stack_dim):
    expected = ltr_collate([_Numbered()[i] for i in range(3)], stack_dim)
    loader = torch.utils.data.DataLoader(_Numbered(), batch_size=3, num_workers=1,
                                         collate_fn=lambda b: ltr_collate(b, stack_dim))
    batch = next(iter(loader))
    for key in ("img", "arr"):
        assert batch[key].shape == expected[key].shape and torch.equal(batch[key], expected[key])
    assert batch["img"].is_shared()
