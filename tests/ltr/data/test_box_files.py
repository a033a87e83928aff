"""The one reader and writer of box files (ltr.data.box_files), the dataset-root resolver
(admin.environment.resolve_dataset_root) and GOT-10k's visibility rule, on hand-written files."""

import os

import numpy as np
import pytest

from admin.environment import EnvironmentPathError, resolve_dataset_root
from ltr.data.box_files import (BoxFileError, MotRows, ResultFileError, boxes_to_mot, format_box_rows, mot_to_boxes,
                                parse_fast, parse_rows, read_boxes, read_labels, read_mot_rows, write_box_rows,
                                write_mot_rows)
from ltr.dataset.got10k import got10k_visible


def test_commas_tabs_spaces_and_blank_lines(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n\n5\t6\t7\t8\n9 10  11 ,12\n\n")
    expected = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert read_boxes(path).tolist() == expected and read_boxes(path).dtype == np.float64
    # Training refuses a blank line between rows (it would shift every later frame); trailing ones are fine.
    with pytest.raises(BoxFileError, match=rf"{path}, line 2: expected four numbers x,y,w,h, got '' \(0 values\)"):
        read_boxes(path, skip_blank=False)
    path.write_text("1,2,3,4\n5\t6\t7\t8\n\n")
    boxes = read_boxes(path, skip_blank=False, dtype=np.float32)
    assert boxes.dtype == np.float32 and boxes.tolist() == expected[:2]


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n1,2,three,4\n")
    with pytest.raises(BoxFileError, match=rf"{path}, line 2: .*'1,2,three,4' \(not all numbers\)"):
        read_boxes(path)
    path.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match=rf"{path}, line 2: .*\(3 values\); fix or replace the file"):
        read_boxes(path)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.txt is missing.*otb_path.*TRACKING_OTB_PATH"):
        read_boxes(tmp_path / "nowhere.txt", field="otb_path")


def test_vot_polygons(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n0,0,4,0,4,2,0,2\n")
    assert read_boxes(path, polygons=True).tolist() == [[1, 2, 3, 4], [0, 0, 4, 2]]
    path.write_text("0,0,4,0,4,2,0,2\n")  # the fast path converts too
    assert read_boxes(path, polygons=True).tolist() == [[0, 0, 4, 2]]
    with pytest.raises(BoxFileError, match="line 1: expected four numbers"):
        read_boxes(path)


def test_nan_policies(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("1,2,3,4\nnan,nan,nan,nan\n")
    assert np.isnan(read_boxes(path)[1]).all()  # annotations: an absent target
    assert parse_fast(path.read_text(), nan=False) is None
    with pytest.raises(ResultFileError, match=rf"{path}, line 2: NaN in"):
        parse_rows(path, path.read_text(), nan=False, error=ResultFileError)
    path.write_text("1,2,-3,4\n")
    with pytest.raises(BoxFileError, match="line 1: negative size"):
        parse_rows(path, path.read_text(), nonnegative_size=True)
    assert parse_rows(path, path.read_text()).tolist() == [[1, 2, -3, 4]]


def test_labels(tmp_path):
    path = tmp_path / "cover.label"
    path.write_text("0\n8\n3\n")
    assert read_labels(path, range(9)).tolist() == [0, 8, 3]
    path.write_text("0,1,1,0\n")
    assert read_labels(path).tolist() == [0, 1, 1, 0]
    path.write_text("0\n9\n")
    with pytest.raises(BoxFileError, match=rf"{path}, line 2: label '9' is not one of"):
        read_labels(path, range(9))


def test_writer_formats_exactly_and_atomically(tmp_path, monkeypatch):
    rows = np.array([[1, 2.5, 3.123456, 4], [0, 0, 0, 0]])
    assert format_box_rows(rows) == "1.0000\t2.5000\t3.1235\t4.0000\n0.0000\t0.0000\t0.0000\t0.0000\n"
    assert format_box_rows(rows[:1], delimiter=",", decimals=2) == "1.00,2.50,3.12,4.00\n"
    path = tmp_path / "seq.txt"
    write_box_rows(path, rows)
    assert read_boxes(path).tolist() == np.round(rows, 4).tolist()
    # A value that cannot be written fails before the file is touched.
    with pytest.raises(ValueError):
        write_box_rows(path, [[1, 2, 3, "x"]])
    with pytest.raises(ValueError):
        write_box_rows(tmp_path / "new.txt", [[1, 2, 3, "x"]])
    # A write that fails at the end leaves neither a partial file nor a temporary one.
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_box_rows(path, rows[:1])
    assert read_boxes(path).shape == (2, 4)
    assert not (tmp_path / "new.txt").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["seq.txt"]


def test_mot_rows_round_trip(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,1,10,20,30,40,1,1,0.75\n1,2,5.5,6,7,8,0,7,1\n\n2,1,11,21,30,40,1,1,0.5\n")
    rows = read_mot_rows(path)
    assert rows.frame.tolist() == [1, 1, 2] and rows.id.tolist() == [1, 2, 1]
    assert rows.box[1].tolist() == [5.5, 6, 7, 8] and rows.score.tolist() == [1, 0, 1]
    assert rows.classes.tolist() == [1, 7, 1] and rows.visibility.tolist() == [0.75, 1, 0.5]
    out = tmp_path / "out.txt"
    write_mot_rows(out, rows)
    assert out.read_text().splitlines()[1] == "1,2,5.50,6.00,7.00,8.00,0.0000,7,1"
    again = read_mot_rows(out)
    np.testing.assert_array_equal(again.to_array(), rows.to_array())
    result = MotRows([3], [4], [[1, 2, 3, 4]], [0.9], [[-1, -1, -1]])
    write_mot_rows(out, result)
    assert out.read_text() == "3,4,1.00,2.00,3.00,4.00,0.9000,-1,-1,-1\n"
    with pytest.raises(ValueError, match="7 columns: no class column"):
        _ = MotRows([1], [1], [[1, 2, 3, 4]], [1], np.zeros((1, 0))).classes
    out.write_text("")
    assert len(read_mot_rows(out)) == 0


def test_bad_mot_rows_name_file_and_line(tmp_path):
    path = tmp_path / "det.txt"
    for content, message in {"1,1,1,2,3,4\n": r"line 1: expected at least seven numbers",
                             "1,1,1,2,3,4,1,-1,-1,-1\n1,1,1,2,3,4,1\n": r"line 2: .*where the lines above have 10",
                             "1,1,1,2,3,4,1\n\n1,1,1,2,-3,4,1\n": r"line 3: negative size",
                             "1,1,1,2,3,4,nan\n": r"line 1: NaN",
                             "1,1,1,2,3,4,1\n\n0,1,1,2,3,4,1\n": r"line 3: frame and id must be integers"}.items():
        path.write_text(content)
        with pytest.raises(BoxFileError, match=message) as error:
            read_mot_rows(path)
        assert str(path) in str(error.value)


def test_a_single_object_track_is_a_mot_track_of_one_identity(tmp_path):
    boxes = np.array([[1, 2, 3, 4], [np.nan] * 4, [5.25, 6, 7, 8]])
    rows = boxes_to_mot(boxes, track_id=3)
    assert rows.frame.tolist() == [1, 3] and set(rows.id.tolist()) == {3}
    path = tmp_path / "seq.txt"
    write_mot_rows(path, rows)
    np.testing.assert_array_equal(mot_to_boxes(read_mot_rows(path), 3), boxes)
    two = MotRows(np.r_[rows.frame, 1], np.r_[rows.id, 5], np.r_[rows.box, [[0, 0, 1, 1]]], np.r_[rows.score, 1],
                  np.r_[rows.extra, [[-1, -1, -1]]])
    with pytest.raises(ValueError, match="2 identities.*pass track_id"):
        mot_to_boxes(two, 3)
    np.testing.assert_array_equal(mot_to_boxes(two, 3, track_id=3), boxes)
    assert mot_to_boxes(two, 3, track_id=5)[0].tolist() == [0, 0, 1, 1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An environment with no local file and no TRACKING_ variables."""
    for name in list(os.environ):
        if name.startswith("TRACKING_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    return monkeypatch


@pytest.mark.parametrize("make, state, words", [
    (lambda p: None, "missing", "does not exist"),
    (lambda p: p.mkdir(), "empty", "is an empty folder"),
    (lambda p: p.write_text("x"), "file", "is a file, not a folder"),
])
def test_dataset_root_missing_empty_or_a_file(tmp_path, env, make, state, words):
    root = tmp_path / "otb"
    make(root)
    for given in (root, None):  # passed, or from the environment variable
        env.setenv("TRACKING_OTB_PATH", str(root))
        with pytest.raises(EnvironmentPathError, match=rf"{root}.*{words}.*otb_path.*TRACKING_OTB_PATH") as error:
            resolve_dataset_root(given, "otb_path")
        assert isinstance(error.value, FileNotFoundError)
        assert (error.value.field, error.value.state) == ("otb_path", state)


def test_dataset_root_found_or_not_set(tmp_path, env):
    (tmp_path / "otb" / "Basketball").mkdir(parents=True)
    assert resolve_dataset_root(tmp_path / "otb", "otb_path") == tmp_path / "otb"
    with pytest.raises(EnvironmentPathError, match="otb_path .* is not set.*TRACKING_OTB_PATH") as error:
        resolve_dataset_root(None, "otb_path")
    assert error.value.state == "not set"
    with pytest.raises(EnvironmentPathError, match=r"generate it with `make .*empty`"):
        (tmp_path / "empty").mkdir()
        resolve_dataset_root(tmp_path / "empty", "synthetic_dir", hint="generate it with `make {root}`")


def test_got10k_visibility_rule():
    boxes = np.array([[0, 0, 5, 5]] * 4 + [[0, 0, 0, 5], [np.nan] * 4], dtype=np.float32)
    absence = np.array([0, 1, 0, 1, 0, 0])
    cover = np.array([8, 0, 0, 3, 8, 8])
    # Visible: not absent, cover above 0 (the frames the official toolkit scores), a valid box.
    assert got10k_visible(absence, cover, boxes).tolist() == [True, False, False, False, False, False]
