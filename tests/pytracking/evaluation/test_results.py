import numpy as np
import pytest

from pytracking.evaluation.results import ResultFileError, parse_fast, parse_lines, read_boxes


@pytest.mark.parametrize("text", ["1,2,3,4\n5,6,7,8\n", "1\t2\t3\t4\r\n5 6 7 8\r\n", "1, 2, 3, 4\n\n  \n5,6,7,8",
                                  "1.5e1,-2,0,4\n"])
def test_fast_path_reads_what_the_line_reader_reads(tmp_path, text):
    fast = parse_fast(text)
    assert fast is not None
    np.testing.assert_array_equal(fast, parse_lines(tmp_path / "r.txt", text))


@pytest.mark.parametrize("text", ["", "\n", "1,2,3\n", "1,2,3,4,5\n", "1,2,3,4\n1,2,3\n", "1,2,nan,4\n",
                                  "1,2,inf,4\n", "-inf,2,3,4\n", "1,2,-3,4\n", "1,2,x,4\n", "# comment\n1,2,3,4\n", "1_0,2,3,4\n"])
def test_fast_path_leaves_every_doubtful_file_to_the_line_reader(text):
    assert parse_fast(text) is None


def test_errors_still_name_the_file_and_line_after_the_fast_path(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1,2,3,4\n" * 5 + "1,2,3\n" + "1,2,3,4\n")
    with pytest.raises(ResultFileError, match=r"seq\.txt, line 6: expected four numbers"):
        read_boxes(path, 7)
    path.write_text("1,2,3,4\n" * 3)
    with pytest.raises(ResultFileError, match=r"has 3 rows but the ground truth has 4 frames"):
        read_boxes(path, 4)
    # What the fast path rejects and the line reader accepts is still read.
    path.write_text("1_0,2,3,4\n")
    assert read_boxes(path, 1)[0].tolist() == [[10.0, 2.0, 3.0, 4.0]]


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "nan"])
def test_infinite_or_nan_values_are_refused_naming_file_and_line(tmp_path, value):
    # inf used to pass the fast path and be scored; it is no more a box than NaN.
    path = tmp_path / "seq.txt"
    path.write_text("1,2,3,4\n" + f"1,{value},3,4\n" + "1,2,3,4\n")
    word = "NaN" if value == "nan" else "an infinite value"
    with pytest.raises(ResultFileError, match=rf"seq\.txt, line 2: {word} in '1,{value},3,4'; results must hold a finite"):
        read_boxes(path, 3)


def test_extra_rows_are_dropped_and_counted(tmp_path, caplog):
    path = tmp_path / "seq.txt"
    path.write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n")
    boxes, extra = read_boxes(path, 1)
    assert boxes.shape == (1, 4) and boxes.flags["C_CONTIGUOUS"] and extra == 2
    assert "2 rows beyond the ground truth's 1 frames" in caplog.text
