"""The prepared copy of a dataset's frames (ltr.data.prepared, ltr/run_prepare.py): exactly the
decoder's output at each level, crops equal to the decoded frames', resumable, no half files."""

import json
import pickle

import cv2
import numpy as np
import pytest
import torch

from ltr import run_prepare
from ltr.data.image_loader import LazyFrame, imread
from ltr.data.prepared import PreparedCopyError, PreparedFrames, prepare_frames
from ltr.data.processing import ATOMProcessing
from ltr.data.processing_utils import crop_window, decode_reduction, extract_crop


def write_tree(root, sequences=(("seq_a", 3), ("nested/seq_b", 2)), size=(200, 136)):
    """JPEG sequences with texture (so that decoding at reduced sizes is not trivial)."""
    generator = np.random.default_rng(0)
    for name, count in sequences:
        folder = root / name
        folder.mkdir(parents=True)
        for index in range(count):
            base = cv2.resize(generator.integers(0, 256, (17, 25, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
            noise = generator.integers(0, 40, base.shape, dtype=np.uint8)
            cv2.imwrite(str(folder / f"{index:08d}.jpg"), cv2.add(base, noise), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return root


@pytest.fixture()
def tree(tmp_path):
    return write_tree(tmp_path / "source")


def test_levels_hold_the_decoders_output(tree, tmp_path):
    counts = prepare_frames(tree, tmp_path / "copy")
    assert counts["prepared"] == 2 and counts["frames"] == 5 and not counts["skipped"]
    frames = PreparedFrames(tmp_path / "copy")
    assert len(frames) == 2
    for path in sorted(tree.rglob("*.jpg")):
        for level in (1, 2, 4, 8):
            assert np.array_equal(frames(path, level), imread(path, level)), (path, level)
        whole = imread(path, 2)
        pixels, (left, top) = frames.region(path, 2, (16, 8, 60, 50))
        assert (left, top) == (16, 8) and np.array_equal(pixels, whole[8:50, 16:60])
        # Clipped to the image: a region reaching outside starts at 0 and ends at the edge.
        pixels, (left, top) = frames.region(path, 4, (-16, -16, 500, 500))
        assert (left, top) == (0, 0) and np.array_equal(pixels, imread(path, 4))


def test_frames_not_in_the_copy_are_decoded(tree, tmp_path):
    prepare_frames(tree, tmp_path / "copy", levels=(2, 4))
    frames = PreparedFrames(tmp_path / "copy")
    path = sorted(tree.rglob("*.jpg"))[0]
    assert np.array_equal(frames(path, 1), imread(path))  # a level the copy lacks
    other = write_tree(tmp_path / "elsewhere", (("seq", 1),))
    outside = sorted(other.rglob("*.jpg"))[0]
    assert np.array_equal(frames(outside, 2), imread(outside, 2))  # a frame it never held
    pixels, origin = frames.region(outside, 1, (0, 0, 40, 40))
    assert pixels.shape[0] >= 40 and origin[0] <= 0 and origin[1] <= 0


def test_crops_from_the_copy_equal_crops_of_the_decoded_frame(tmp_path):
    # The crop asks the copy for the reduction it would ask the decoder for; what it reads is
    # the frame decoded whole at that reduction, so the crop is that frame's crop bit for bit,
    # and within a few grey levels of the region decoder's (identical at 1/2, 1/4, 1/8).
    source = write_tree(tmp_path / "source", (("seq", 1),), size=(640, 360))
    prepare_frames(source, tmp_path / "copy")
    frames = PreparedFrames(tmp_path / "copy")
    path = str(next(source.rglob("*.jpg")))
    process = ATOMProcessing(search_area_factor=5.0, output_sz=64, center_jitter_factor={"train": 0, "test": 0},
                             scale_jitter_factor={"train": 0, "test": 0}, proposal_params={})
    seen = set()
    for box in ([300.0, 150.0, 10.0, 8.0], [250.0, 120.0, 30.0, 24.0], [200.0, 100.0, 60.0, 50.0],
                [100.0, 50.0, 140.0, 120.0]):
        box = torch.tensor(box)
        window = crop_window(box, 5.0, 64)
        reduction = decode_reduction(window)
        seen.add(reduction)
        from_copy, _ = process.crop(LazyFrame(path, frames), box, box)
        expected = extract_crop(imread(path, reduction), window, 1.0 / reduction)
        assert np.array_equal(from_copy, expected), reduction
        from_region, _ = process.crop(LazyFrame(path), box, box)
        difference = np.abs(from_copy.astype(int) - from_region).max()
        assert difference <= (0 if reduction > 1 else 4), (reduction, difference)
    assert seen == {1, 2, 4, 8}


def test_a_rerun_keeps_finished_sequences_and_redoes_missing_ones(tree, tmp_path):
    out = tmp_path / "copy"
    prepare_frames(tree, out)
    again = prepare_frames(tree, out)
    assert again["prepared"] == 0 and again["kept"] == 2
    (out / "nested__seq_b.json").unlink()
    again = prepare_frames(tree, out)
    assert again["prepared"] == 1 and again["kept"] == 1
    with pytest.raises(PreparedCopyError, match="levels"):
        prepare_frames(tree, out, levels=(2,))  # the same folder with other levels


def test_an_interrupted_run_leaves_no_half_file_and_continues(tree, tmp_path):
    out = tmp_path / "copy"
    calls = []

    def interrupted(path, reduction=1):
        calls.append(path)
        if len(calls) == 8:  # while the second sequence's first level is being written
            assert list(out.glob(".seq_a.r1.npy.*.tmp"))
            raise KeyboardInterrupt
        return imread(path, reduction)

    with pytest.raises(KeyboardInterrupt):
        prepare_frames(tree, out, levels=(1, 2), loader=interrupted)
    names = sorted(p.name for p in out.iterdir())
    # The first sequence (nested/seq_b, in sorted order) is complete; nothing of the second.
    assert names == ["nested__seq_b.json", "nested__seq_b.r1.npy", "nested__seq_b.r2.npy", "prepared.json"]
    counts = prepare_frames(tree, out, levels=(1, 2))
    assert counts["kept"] == 1 and counts["prepared"] == 1
    frames = PreparedFrames(out)
    path = tree / "seq_a" / "00000002.jpg"
    assert np.array_equal(frames(path, 2), imread(path, 2))


def test_unreadable_frames_and_missing_folders_are_one_line(tree, tmp_path, capsys):
    (tree / "seq_a" / "00000001.jpg").write_bytes(b"not a jpeg")
    assert run_prepare.main([str(tree), str(tmp_path / "copy")]) == 1
    captured = capsys.readouterr()
    assert "1 sequences prepared" in captured.out
    assert "skipped seq_a" in captured.err and "00000001.jpg" in captured.err
    assert not list((tmp_path / "copy").glob("seq_a*"))
    with pytest.raises(SystemExit, match="does not exist") as stop:
        run_prepare.main([str(tmp_path / "missing"), str(tmp_path / "copy2")])
    assert "\n" not in str(stop.value)
    with pytest.raises(SystemExit, match="holds a copy of"):
        run_prepare.main([str(write_tree(tmp_path / "other", (("s", 1),))), str(tmp_path / "copy")])


def test_a_broken_copy_is_named(tree, tmp_path):
    with pytest.raises(PreparedCopyError, match="not a prepared copy"):
        PreparedFrames(tmp_path)
    out = tmp_path / "copy"
    prepare_frames(tree, out, levels=(2,))
    (out / "seq_a.json").write_text("{")
    with pytest.raises(PreparedCopyError, match="seq_a.json"):
        PreparedFrames(out)
    (out / "seq_a.json").write_text(json.dumps({"folder": "seq_a", "frames": ["00000000.jpg"]}))
    (out / "seq_a.r2.npy").write_bytes(b"truncated")
    with pytest.raises(OSError, match="seq_a.r2.npy"):
        PreparedFrames(out)(tree / "seq_a" / "00000000.jpg", 2)


def test_the_loader_pickles_for_loader_workers(tree, tmp_path):
    prepare_frames(tree, tmp_path / "copy", levels=(2,))
    frames = PreparedFrames(tmp_path / "copy")
    path = tree / "seq_a" / "00000000.jpg"
    frames(path, 2)  # a memory map is open
    copy = pickle.loads(pickle.dumps(frames))
    assert np.array_equal(copy(path, 2), imread(path, 2))


def test_frame_loader_uses_the_copy_when_present(tree, tmp_path, caplog):
    from ltr.data.prepared import frame_loader
    assert frame_loader(None) is imread
    assert frame_loader(tmp_path / "copy") is imread and "no prepared copy" in caplog.text
    prepare_frames(tree, tmp_path / "copy", levels=(2,))
    loader = frame_loader(tmp_path / "copy")
    assert isinstance(loader, PreparedFrames) and len(loader) == 2


def test_frames_are_found_through_links_to_the_source(tree, tmp_path):
    # A dataset root reached through a symbolic link (a shared data folder) still finds its
    # frames in a copy prepared from the real folder, and the other way round.
    prepare_frames(tree, tmp_path / "copy", levels=(2,))
    link = tmp_path / "link"
    link.symlink_to(tree)
    frames = PreparedFrames(tmp_path / "copy")
    assert frames._frames(link / "seq_a" / "00000001.jpg", 2) is not None
    prepare_frames(link, tmp_path / "copy2", levels=(2,))
    assert PreparedFrames(tmp_path / "copy2")._frames(tree / "seq_a" / "00000001.jpg", 2) is not None
