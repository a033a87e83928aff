import numpy as np
import torch

from ltr.data import transforms as tfm
from ltr.data.boxes import box_iou
from ltr.data.image_loader import LazyFrame
from ltr.data.processing import ATOMProcessing
from ltr.data.sampler import ATOMSampler
from ltr.data.tensordict import TensorDict

PROPOSALS = {"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}


def processing(**overrides):
    settings = dict(search_area_factor=5.0, output_sz=64, center_jitter_factor={"train": 0, "test": 4.5},
                    scale_jitter_factor={"train": 0, "test": 0.5}, proposal_params=PROPOSALS,
                    transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize()),
                    joint_transform=tfm.ToGrayscale(probability=0.05), seed=0)
    settings.update(overrides)
    return ATOMProcessing(**settings)


def sample(image, box):
    return TensorDict(train_images=[image], train_anno=[box.clone()], test_images=[image], test_anno=[box.clone()])


def test_pair_outputs_and_proposal_targets():
    image = np.zeros((120, 160, 3), np.uint8)
    box = torch.tensor([60.0, 40.0, 20.0, 16.0])
    data = processing()(sample(image, box))
    assert data["train_images"].shape == (3, 64, 64) and data["test_images"].shape == (3, 64, 64)
    assert data["test_proposals"].shape == (16, 4) and data["proposal_iou"].shape == (16,)
    torch.testing.assert_close(data["proposal_iou"], 2 * box_iou(data["test_anno"], data["test_proposals"]) - 1)
    # No jitter on the train frame: the box is centred, sqrt(area) * 64 / side wide.
    x, y, w, h = data["train_anno"].tolist()
    side = np.ceil(np.sqrt(20 * 16) * 5.0)
    assert abs(x + w / 2 - 32) < 1e-4 and abs(y + h / 2 - 32) < 1e-4
    assert abs(w - 20 * 64 / side) < 1e-4


def test_test_frames_are_jittered_within_bounds():
    image = np.zeros((120, 160, 3), np.uint8)
    box = torch.tensor([60.0, 40.0, 20.0, 16.0])
    process = processing()
    offsets = []
    for _ in range(200):
        data = process(sample(image, box))
        x, y, w, h = data["test_anno"].tolist()
        offsets.append((x + w / 2 - 32, y + h / 2 - 32))
    offsets = np.abs(np.array(offsets))
    # Centre moves by up to 4.5 / 2 * sqrt(jittered area) image pixels: inside the crop.
    assert offsets.max() < 32 and offsets.mean() > 2


def test_sequence_mode_stacks_frames():
    image = np.zeros((120, 160, 3), np.uint8)
    box = torch.tensor([60.0, 40.0, 20.0, 16.0])
    data = TensorDict(train_images=[image] * 3, train_anno=[box] * 3, test_images=[image] * 2, test_anno=[box] * 2)
    out = processing(mode="sequence")(data)
    assert out["train_images"].shape == (3, 3, 64, 64) and out["test_proposals"].shape == (2, 16, 4)


def test_lazy_frames_with_reduced_decoding_match(tmp_path, fake_dataset):
    import cv2
    from ltr.dataset.synthetic.textures import photo_library
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), cv2.resize(photo_library()[0].image, (1280, 720)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    box = torch.tensor([400.0, 200.0, 300.0, 250.0])
    crops = []
    for reduced in (True, False):
        process = processing(output_sz=128, reduced_decoding=reduced, joint_transform=None,
                             transform=tfm.Transform(tfm.ToTensor()), seed=3)
        crops.append(process(sample(LazyFrame(str(path)), box))["test_images"])
    assert (crops[0] - crops[1]).abs().mean() < 1.5 / 255


def test_sampler_with_processing_feeds_atom_batches(fake_dataset):
    from ltr.data.loader import LTRLoader
    dataset = fake_dataset([[True] * 30] * 3, size=(160, 120))
    # As ATOM trains: 'sequence' mode with one frame per split, batches stacked in dimension 1.
    sampler = ATOMSampler([dataset], None, 8, max_gap=10, processing=processing(mode="sequence"))
    batch = next(iter(LTRLoader("train", sampler, batch_size=4, stack_dim=1, seed=0)))
    assert batch["train_images"].shape == (1, 4, 3, 64, 64) and batch["test_anno"].shape == (1, 4, 4)
    assert batch["test_proposals"].shape == (1, 4, 16, 4) and batch["proposal_iou"].shape == (1, 4, 16)
    assert batch["dataset"] == ["fake"] * 4 and batch["load_failures"].tolist() == [0] * 4


def test_fused_transforms_and_one_frame_stacking_change_nothing():
    # The whole ATOM processing, one frame per split as ATOM trains: fused jitter and
    # normalisation (a table look-up) and the one-frame view give the unfused, stacked result
    # bit for bit, with the same random draws (the proposals that follow agree too).
    generator = np.random.default_rng(4)
    image = generator.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    box = torch.tensor([60.0, 40.0, 20.0, 16.0])
    outputs = []
    for fuse in (True, False):
        process = processing(mode="sequence", seed=7,
                             transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize(), fuse=fuse))
        outputs.append(process(sample(image, box)))
    fused, unfused = outputs
    for key in ("train_images", "test_images", "train_anno", "test_anno", "test_proposals", "proposal_iou"):
        assert fused[key].shape == unfused[key].shape and torch.equal(fused[key], unfused[key]), key
    assert fused["test_images"].shape == (1, 3, 64, 64) and fused["test_images"].is_contiguous()


def test_samples_kept_by_their_consumer_are_not_overwritten_by_later_ones():
    # Crops and look-up results live in recycled arrays: one still in use is never handed out
    # again, so a kept sample stays as it was made while more samples are processed.
    generator = np.random.default_rng(5)
    box = torch.tensor([60.0, 40.0, 20.0, 16.0])
    process = processing(mode="sequence", seed=3)
    kept = [process(sample(generator.integers(0, 256, (120, 160, 3), dtype=np.uint8), box)) for _ in range(3)]
    copies = [{key: data[key].clone() for key in ("train_images", "test_images")} for data in kept]
    for _ in range(3):
        process(sample(generator.integers(0, 256, (120, 160, 3), dtype=np.uint8), box))
    for data, copy in zip(kept, copies):
        assert all(torch.equal(data[key], copy[key]) for key in copy)
    assert not any(np.shares_memory(a["test_images"].numpy(), b["test_images"].numpy())
                   for index, a in enumerate(kept) for b in kept[index + 1:])
