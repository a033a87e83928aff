"""Evaluation datasets on small trees in each benchmark's real layout, and OTB-100's spec
against the real annotation files where the shared folder is present."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from admin.environment import EnvironmentPathError
from pytracking.evaluation import Sequence, SequenceList, dataset_names, get_dataset
from pytracking.evaluation.annotations import read_spec
from pytracking.evaluation.specdatasets import tpl_otb_overlap

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
OTB_ANNOTATIONS = SHARED / "reference-results" / "otb100"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def touch_frames(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def record(name, path, start, end, anno, nz=4, ext="jpg", **extra):
    return {"name": name, "path": path, "startFrame": start, "endFrame": end, "nz": nz, "ext": ext,
            "anno_path": anno, **extra}


# ---------------------------------------------------------------- Sequence, SequenceList, registry

def test_sequence_checks_ground_truth_and_init_info():
    seq = Sequence("a", ["0.jpg", "1.jpg"], "otb", [[1, 2, 3, 4], [5, 6, 7, 8]], target_visible=[1, 0])
    assert seq.ground_truth_rect.dtype == np.float64 and seq.ground_truth_rect.shape == (2, 4)
    assert seq.init_info() == {"init_bbox": [1.0, 2.0, 3.0, 4.0]}
    assert all(isinstance(v, float) for v in seq.init_info()["init_bbox"])
    assert seq.target_visible.tolist() == [True, False]
    assert Sequence("b", ["0.jpg"], "x", [[1, 2, 3, 4]], init_box=[9, 9, 9, 9]).init_info()["init_bbox"] == [9.0] * 4
    with pytest.raises(ValueError, match=r"'c'.*gt\.txt"):
        Sequence("c", ["0.jpg", "1.jpg"], "otb", [[1, 2, 3, 4]], anno_path="gt.txt")
    first = Sequence("d", ["0.jpg", "1.jpg", "2.jpg"], "got10k", [[1, 2, 3, 4]], first_frame_only=True)
    assert first.ground_truth_rect.shape == (1, 4) and len(first) == 3
    with pytest.raises(ValueError, match="visibility"):
        Sequence("e", ["0.jpg"], "x", [[1, 2, 3, 4]], target_visible=[1, 1])
    with pytest.raises(ValueError, match="first frame has no ground-truth box"):
        Sequence("f", ["0.jpg"], "uav", [[np.nan] * 4]).init_info()


def test_sequence_list_by_name_and_index():
    seqs = SequenceList(Sequence(n, ["0.jpg"], "x", [[0, 0, 1, 1]]) for n in "abc")
    assert seqs["b"] is seqs[1] and seqs[-1].name == "c"
    assert isinstance(seqs[:2], SequenceList) and seqs[:2].names() == ["a", "b"]
    with pytest.raises(KeyError, match="'z'"):
        seqs["z"]


def test_registry_names_and_unknown():
    assert set(dataset_names()) == {"otb", "nfs", "uav", "tpl", "tpl_nootb", "vot", "lasot", "got10k_val",
                                    "got10k_test", "trackingnet", "synthetic"} | {
        f"{name}{suffix}" for name in ("mot15", "mot16", "mot17", "mot20")
        for suffix in ("", "_test", "_half_val")} | {"synthetic_mot", "synthetic_mot_train"}
    with pytest.raises(ValueError, match="'otb'"):
        get_dataset("otbb")


def test_unset_environment_field_names_it():
    with pytest.raises(EnvironmentPathError, match="otb_path") as error:
        get_dataset("otb")
    assert error.value.field == "otb_path"


def test_root_from_environment(tmp_path, monkeypatch):
    write(tmp_path / "otb" / "A" / "gt.txt", "1,2,3,4\n")
    monkeypatch.setenv("TRACKING_OTB_PATH", str(tmp_path / "otb"))
    seqs = get_dataset("otb", specs=[record("A", "A/img", 1, 1, "A/gt.txt")])
    assert seqs["A"].frames == [str(tmp_path / "otb" / "A" / "img" / "0001.jpg")]


def test_packaged_specs_are_complete():
    assert len(read_spec("otb100.json")) == 100 and len(read_spec("nfs.json")) == 100
    assert len(read_spec("uav123.json")) == 123 and len(read_spec("vot2018.json")) == 60
    assert len(read_spec("lasot_test.txt")) == 280 and len(read_spec("tpl.json")) == 129


# ---------------------------------------------------------------- OTB, NFS, UAV, TPL

def test_otb_separators_numbered_files_and_init_omit(tmp_path):
    root = tmp_path / "OTB100"
    write(root / "Basketball" / "groundtruth_rect.txt", "1,2,3,4\n5\t6\t7\t8\n9 10 11 12\n")
    write(root / "Jogging" / "groundtruth_rect.1.txt", "1,1,2,2\n3,3,4,4\n")
    write(root / "Tiger1" / "groundtruth_rect.txt", "".join(f"{i},{i},10,10\n" for i in range(1, 9)))
    specs = [record("Basketball", "Basketball/img", 1, 3, "Basketball/groundtruth_rect.txt", object_class="person"),
             record("Jogging_1", "Jogging/img", 1, 2, "Jogging/groundtruth_rect.1.txt"),
             record("Tiger1", "Tiger1/img", 1, 8, "Tiger1/groundtruth_rect.txt", initOmit=5)]
    seqs = get_dataset("otb", root=root, specs=specs, strict=True)
    assert seqs.names() == ["Basketball", "Jogging_1", "Tiger1"]
    basketball = seqs["Basketball"]
    assert basketball.frames[0] == str(root / "Basketball" / "img" / "0001.jpg")
    assert basketball.ground_truth_rect.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert basketball.object_class == "person" and basketball.dataset == "otb"
    tiger = seqs["Tiger1"]
    assert [Path(f).name for f in tiger.frames] == ["0006.jpg", "0007.jpg", "0008.jpg"]
    assert tiger.ground_truth_rect[:, 0].tolist() == [6, 7, 8]
    assert tiger.init_info() == {"init_bbox": [6.0, 6.0, 10.0, 10.0]}


def test_spec_start_frame_and_padding(tmp_path):
    root = tmp_path / "otb"
    write(root / "David" / "gt.txt", "1,1,1,1\n2,2,2,2\n")
    seq = get_dataset("otb", root=root, specs=[record("David", "David/img", 300, 301, "David/gt.txt")])["David"]
    assert [Path(f).name for f in seq.frames] == ["0300.jpg", "0301.jpg"]


def test_spec_row_count_mismatch_is_trimmed_or_padded(tmp_path, caplog):
    root = tmp_path / "otb"
    write(root / "Long" / "gt.txt", "1,1,1,1\n2,2,2,2\n3,3,3,3\n")
    write(root / "Short" / "gt.txt", "1,1,1,1\n")
    specs = [record("Long", "Long/img", 1, 2, "Long/gt.txt"), record("Short", "Short/img", 1, 2, "Short/gt.txt")]
    with caplog.at_level(logging.WARNING):
        seqs = get_dataset("otb", root=root, specs=specs)
        assert seqs["Long"].ground_truth_rect.tolist() == [[1, 1, 1, 1], [2, 2, 2, 2]]
        assert np.isnan(seqs["Short"].ground_truth_rect[1]).all()
    assert "Long/gt.txt: 3 boxes for 2 frames" in caplog.text and "Short/gt.txt: 1 boxes for 2 frames" in caplog.text
    strict = get_dataset("otb", root=root, specs=specs, strict=True)
    with pytest.raises(ValueError, match=r"'Long'.*Long/gt\.txt"):
        strict["Long"].ground_truth_rect


def test_spec_errors_name_file_and_line(tmp_path):
    root = tmp_path / "otb"
    write(root / "A" / "gt.txt", "1,2,3,4\n1,2,three,4\n")
    write(root / "B" / "gt.txt", "1,2,3\n")
    # Errors appear when the sequence's ground truth is used, not when the dataset is listed.
    with pytest.raises(ValueError, match=r"A/gt\.txt, line 2"):
        get_dataset("otb", root=root, specs=[record("A", "A/img", 1, 2, "A/gt.txt")])["A"].ground_truth_rect
    with pytest.raises(ValueError, match=r"B/gt\.txt, line 1: expected four numbers x,y,w,h, got '1,2,3' \(3 values\)"):
        get_dataset("otb", root=root, specs=[record("B", "B/img", 1, 1, "B/gt.txt")])["B"].init_info()
    with pytest.raises(FileNotFoundError, match=r"C/gt\.txt.*otb_path"):
        get_dataset("otb", root=root, specs=[record("C", "C/img", 1, 1, "C/gt.txt")])["C"].ground_truth_rect
    with pytest.raises(FileNotFoundError, match="otb_path"):
        get_dataset("otb", root=tmp_path / "nowhere", specs=[])


def test_spec_file_keyword(tmp_path):
    root = tmp_path / "nfs"
    write(root / "anno" / "nfs_Bee.txt", "1,2,3,4\n")
    spec = write(tmp_path / "nfs.json", json.dumps([record("nfs_Bee", "sequences/Bee", 1, 1, "anno/nfs_Bee.txt",
                                                          nz=5, object_class="animal", occlusion=False)]))
    seq = get_dataset("nfs", root=root, spec_file=spec)["nfs_Bee"]
    assert seq.frames == [str(root / "sequences" / "Bee" / "00001.jpg")] and seq.dataset == "nfs"


def test_uav_keeps_nan_rows_and_shared_folders(tmp_path):
    root = tmp_path / "UAV123"
    write(root / "anno" / "UAV123" / "bird1_1.txt", "1,2,3,4\nNaN,NaN,NaN,NaN\n5,6,7,8\n")
    write(root / "anno" / "UAV123" / "bird1_2.txt", "1,1,1,1\n2,2,2,2\n")
    specs = [record("uav_bird1_1", "data_seq/UAV123/bird1", 1, 3, "anno/UAV123/bird1_1.txt", nz=6),
             record("uav_bird1_2", "data_seq/UAV123/bird1", 10, 11, "anno/UAV123/bird1_2.txt", nz=6)]
    seqs = get_dataset("uav", root=root, specs=specs, strict=True)
    gt = seqs["uav_bird1_1"].ground_truth_rect
    assert np.isnan(gt[1]).all() and gt[2].tolist() == [5, 6, 7, 8]
    assert Path(seqs["uav_bird1_2"].frames[0]).name == "000010.jpg"


def test_tpl_nootb_leaves_out_otb_sequences(tmp_path):
    root = tmp_path / "tpl"
    specs = []
    for name in ["tpl_Skating2", "tpl_Jogging1", "tpl_Skiing", "tpl_Skiing_ce", "tpl_Torus", "tpl_Pool_ce3"]:
        write(root / name / "gt.txt", "1,2,3,4\n")
        specs.append(record(name, f"{name}/img", 1, 1, f"{name}/gt.txt"))
    otb = [{"name": n} for n in ["Skating2_1", "Skating2_2", "Jogging_1", "Jogging_2", "Skiing"]]
    assert len(get_dataset("tpl", root=root, specs=specs)) == 6
    kept = get_dataset("tpl_nootb", root=root, specs=specs, otb_specs=otb).names()
    assert kept == ["tpl_Skiing_ce", "tpl_Torus", "tpl_Pool_ce3"]


def test_tpl_otb_overlap_on_real_specs():
    overlap = tpl_otb_overlap(read_spec("tpl.json"), read_spec("otb100.json"))
    assert {"tpl_Skating2", "tpl_Jogging1", "tpl_Jogging2", "tpl_Tiger1", "tpl_David"} <= overlap
    assert not any("_ce" in name for name in overlap)
    assert len(overlap) == 42


@pytest.mark.skipif(not OTB_ANNOTATIONS.is_dir(), reason=f"{OTB_ANNOTATIONS} is not present")
def test_real_otb_annotations_match_the_spec():
    """Every record's row count (after initOmit) equals its frame count: strict loading succeeds."""
    seqs = get_dataset("otb", root=OTB_ANNOTATIONS, strict=True)
    assert len(seqs) == 100
    assert len(seqs["Tiger1"]) == 349 and Path(seqs["Tiger1"].frames[0]).name == "0006.jpg"
    assert {"Jogging_1", "Jogging_2", "Skating2_1", "Skating2_2", "Human4_2"} <= set(seqs.names())
    for seq in seqs:
        assert seq.ground_truth_rect.shape == (len(seq.frames), 4), seq.name
        assert np.isfinite(seq.init_info()["init_bbox"]).all()


# ---------------------------------------------------------------- VOT

def test_vot_boxes_polygons_and_both_layouts(tmp_path):
    root = tmp_path / "vot2018"
    write(root / "ants1" / "groundtruth.txt", "1,2,3,4\n0,0,4,1,5,5,1,6\n")
    touch_frames(root / "ants1" / "color", ["00000001.jpg", "00000002.jpg"])
    write(root / "bag" / "groundtruth.txt", "10,20,30,40\n")
    touch_frames(root / "bag", ["00000001.jpg"])
    seqs = get_dataset("vot", root=root, sequences=["ants1", "bag"])
    ants = seqs["ants1"]
    assert ants.frames[1] == str(root / "ants1" / "color" / "00000002.jpg")
    assert ants.ground_truth_rect.tolist() == [[1, 2, 3, 4], [0, 0, 5, 6]]
    assert seqs["bag"].frames == [str(root / "bag" / "00000001.jpg")]
    with pytest.raises(FileNotFoundError, match=r"missing.*vot_path"):
        get_dataset("vot", root=root, sequences=["missing"])[0].frames
    write(root / "bad" / "groundtruth.txt", "1,2,3,4,5,6\n")
    with pytest.raises(ValueError, match=r"bad/groundtruth\.txt, line 1"):
        get_dataset("vot", root=root, sequences=["bad"])[0].ground_truth_rect


# ---------------------------------------------------------------- LaSOT

def test_lasot_visibility_and_class(tmp_path):
    root = tmp_path / "LaSOT"
    folder = root / "airplane" / "airplane-1"
    write(folder / "groundtruth.txt", "1,2,3,4\n2,3,4,5\n3,4,5,6\n4,5,6,7\n")
    write(folder / "full_occlusion.txt", "0,1,0,0\n")
    write(folder / "out_of_view.txt", "0,0,1,0\n")
    seq = get_dataset("lasot", root=root, sequences=["airplane-1"])["airplane-1"]
    assert seq.object_class == "airplane" and len(seq) == 4
    assert seq.frames[0] == str(folder / "img" / "00000001.jpg")
    assert seq.target_visible.tolist() == [True, False, False, True]
    write(folder / "out_of_view.txt", "0,0,2,0\n")
    with pytest.raises(ValueError, match=r"out_of_view\.txt, line 1"):
        get_dataset("lasot", root=root, sequences=["airplane-1"])[0].target_visible
    with pytest.raises(FileNotFoundError, match=r"bear-3.*lasot_path"):
        len(get_dataset("lasot", root=root, sequences=["bear-3"])[0])


# ---------------------------------------------------------------- GOT-10k, synthetic, TrackingNet

def make_got10k_split(split_dir: Path, full: bool) -> None:
    write(split_dir / "list.txt", "GOT-10k_Val_000001\nGOT-10k_Val_000002\n")
    for index, frames in ((1, 3), (2, 2)):
        folder = split_dir / f"GOT-10k_Val_{index:06d}"
        touch_frames(folder, [f"{n:08d}.jpg" for n in range(1, frames + 1)])
        rows = frames if full else 1
        write(folder / "groundtruth.txt", "".join(f"{n}.5,{n},10,20\n" for n in range(1, rows + 1)))
        if full:
            write(folder / "absence.label", "".join("1\n" if n == 2 else "0\n" for n in range(1, frames + 1)))
            # GOT-10k's cover level is 0 exactly where the target is absent.
            write(folder / "cover.label", "".join("0\n" if n == 2 else "8\n" for n in range(1, frames + 1)))


def test_got10k_val_and_test(tmp_path):
    root = tmp_path / "got10k"
    make_got10k_split(root / "val", full=True)
    make_got10k_split(root / "test", full=False)
    val = get_dataset("got10k_val", root=root)
    assert val.names() == ["GOT-10k_Val_000001", "GOT-10k_Val_000002"]
    assert val[0].ground_truth_rect.shape == (3, 4) and val[0].target_visible.tolist() == [True, False, True]
    assert val[0].frames[2] == str(root / "val" / "GOT-10k_Val_000001" / "00000003.jpg")
    test = get_dataset("got10k_test", root=root)
    assert test[0].ground_truth_rect.shape == (1, 4) and len(test[0]) == 3 and len(test[1]) == 2
    assert test[0].init_info() == {"init_bbox": [1.5, 1.0, 10.0, 20.0]}


def test_got10k_missing_sequence(tmp_path):
    root = tmp_path / "got10k"
    make_got10k_split(root / "val", full=True)
    write(root / "val" / "list.txt", "GOT-10k_Val_000001\nGOT-10k_Val_000009\n")
    seqs = get_dataset("got10k_val", root=root)
    assert len(seqs["GOT-10k_Val_000001"]) == 3
    with pytest.raises(FileNotFoundError, match=r"GOT-10k_Val_000009.*got10k_path"):
        len(seqs["GOT-10k_Val_000009"])


def test_synthetic_from_environment(tmp_path, monkeypatch):
    make_got10k_split(tmp_path / "synth" / "val", full=True)
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(tmp_path / "synth"))
    seqs = get_dataset("synthetic")
    assert len(seqs) == 2 and seqs[0].dataset == "synthetic"
    assert seqs[1].target_visible.tolist() == [True, False]


def test_synthetic_missing_names_field(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="synthetic_dir"):
        get_dataset("synthetic")


def test_trackingnet_test(tmp_path):
    root = tmp_path / "TrackingNet"
    write(root / "TEST" / "anno" / "seqB.txt", "1,2,3,4\n")
    write(root / "TEST" / "anno" / "seqA.txt", "5 6 7 8\n")
    touch_frames(root / "TEST" / "frames" / "seqA", [f"{i}.jpg" for i in range(12)])
    touch_frames(root / "TEST" / "frames" / "seqB", ["0.jpg", "1.jpg"])
    seqs = get_dataset("trackingnet", root=root)
    assert seqs.names() == ["seqA", "seqB"]
    assert len(seqs["seqA"]) == 12 and seqs["seqA"].frames[10] == str(root / "TEST" / "frames" / "seqA" / "10.jpg")
    assert seqs["seqA"].ground_truth_rect.shape == (1, 4)
    assert seqs["seqB"].init_info() == {"init_bbox": [1.0, 2.0, 3.0, 4.0]}
    (root / "TEST" / "frames" / "seqB").rename(root / "TEST" / "frames" / "other")
    with pytest.raises(FileNotFoundError, match=r"seqB.*trackingnet_path"):
        get_dataset("trackingnet", root=root)["seqB"].frames


# ---------------------------------------------------------------- lazy ground truth

def test_otb_subset_runs_with_only_its_own_annotation(tmp_path):
    """The user's case: ``--dataset_name otb --sequence Biker`` with only Biker's annotation on
    disk. Listing all 100 OTB sequences reads no annotation; Biker's is read when used; another
    sequence's missing file is reported (naming it and otb_path) only when that one is used."""
    root = tmp_path / "OTB100"
    biker = next(r for r in read_spec("otb100.json") if r["name"] == "Biker")
    frames = int(biker["endFrame"]) - int(biker["startFrame"]) + 1
    write(root / biker["anno_path"], "".join(f"{10 + i},20,30,40\n" for i in range(frames)))
    seqs = get_dataset("otb", root=root)
    assert len(seqs) == 100 and not any(seq.loaded for seq in seqs)
    seq = seqs["Biker"]
    assert seq.init_info() == {"init_bbox": [10.0, 20.0, 30.0, 40.0]} and len(seq) == frames
    assert seq.ground_truth_rect.shape == (frames, 4) and seq.loaded
    assert sum(s.loaded for s in seqs) == 1
    basketball = seqs["Basketball"]
    assert "not loaded" in repr(basketball)
    with pytest.raises(FileNotFoundError, match=r"Basketball/groundtruth_rect\.txt is missing.*otb_path"):
        basketball.ground_truth_rect
    # A failed load is not remembered as loaded: the same error comes again.
    with pytest.raises(FileNotFoundError, match="otb_path"):
        basketball.init_info()


@pytest.mark.parametrize("name, field", [("vot", "vot_path"), ("lasot", "lasot_path")])
def test_folder_datasets_list_without_reading_sequences(tmp_path, name, field):
    write(tmp_path / "other-1" / "unrelated.txt", "")  # the root is not empty, but holds neither sequence
    seqs = get_dataset(name, root=tmp_path, sequences=["airplane-1", "bag"])
    assert seqs.names() == ["airplane-1", "bag"] and not any(seq.loaded for seq in seqs)
    with pytest.raises(FileNotFoundError, match=field):
        seqs[0].frames


def test_got10k_and_trackingnet_list_without_reading_sequences(tmp_path):
    write(tmp_path / "got" / "val" / "list.txt", "a\nb\n")
    seqs = get_dataset("got10k_val", root=tmp_path / "got")
    assert seqs.names() == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="got10k_path"):
        seqs["b"].target_visible
    write(tmp_path / "tn" / "TEST" / "anno" / "x.txt", "1,2,3,4\n")
    seqs = get_dataset("trackingnet", root=tmp_path / "tn")
    assert seqs.names() == ["x"] and seqs[0].first_frame_only
    with pytest.raises(FileNotFoundError, match="TrackingNet frame folder"):
        len(seqs[0])


def test_lazy_sequences_pickle_and_a_loader_is_checked_like_arrays(tmp_path):
    import pickle

    from pytracking.evaluation.data import Annotation

    root = tmp_path / "otb"
    write(root / "A" / "gt.txt", "1,2,3,4\n5,6,7,8\n")
    seq = get_dataset("otb", root=root, specs=[record("A", "A/img", 1, 2, "A/gt.txt")])["A"]
    copy = pickle.loads(pickle.dumps(seq))  # worker processes receive sequences pickled
    assert copy.ground_truth_rect.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    bad = Sequence("b", ["0.jpg"], "x", lambda: Annotation(np.zeros((2, 4))))
    with pytest.raises(ValueError, match="has 2 boxes, expected one box per frame"):
        bad.ground_truth_rect
    frames_from_loader = Sequence("c", None, "x", lambda: Annotation(np.ones((3, 4)), ["0", "1", "2"], [1, 0, 1]))
    assert len(frames_from_loader) == 3 and frames_from_loader.target_visible.tolist() == [True, False, True]
