import csv
import io
import logging

import numpy as np
import pytest

from pytracking.analysis import TrackerRuns, analyse_dataset
from pytracking.analysis.attributes import read_attributes
from pytracking.analysis.evaluate import analyse
from pytracking.analysis.plots import PLOTS, draw, legend_order
from pytracking.evaluation.data import Sequence, SequenceList

from .conftest import FRAMES, auc

TRACKERS = [TrackerRuns("Bad", "p"), TrackerRuns("Good", "p")]
GOOD_AUC = (auc(4) + auc(2) + auc(1)) / 3
GOOD_OP50 = 100.0 * (4 + 2 + 1) / (3 * FRAMES)


def read_csv(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_scores_and_sequence_tables_hold_the_computed_scores(otb_tree, tmp_path):
    out = tmp_path / "out"
    result = analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=out, plots=False)
    assert result.scores["Good p"]["AUC"] == pytest.approx(GOOD_AUC)
    assert result.scores["Good p"]["OP50"] == pytest.approx(GOOD_OP50)
    assert result.scores["Bad p"]["Precision"] == pytest.approx(25.0)
    rows = read_csv(out / "scores.csv")
    assert [r["tracker"] for r in rows] == ["Bad p", "Good p"]
    for row in rows:
        assert row["sequences"] == "3"
        for name, value in result.scores[row["tracker"]].items():
            assert float(row[name]) == pytest.approx(value, abs=1e-4)
    markdown = (out / "scores.md").read_text()
    assert f"| Good p | {GOOD_AUC:.2f} | {GOOD_OP50:.2f} | {GOOD_OP50:.2f} | {GOOD_OP50:.2f} | {GOOD_OP50:.2f} | 3 |" \
        in markdown
    assert "| Bad p | 23.81 | 25.00 |" in markdown
    per_sequence = read_csv(out / "sequences.csv")
    assert [(r["sequence"], r["tracker"]) for r in per_sequence][:3] == [
        ("Basketball", "Bad p"), ("Basketball", "Good p"), ("Biker", "Bad p")]
    good = {r["sequence"]: float(r["AUC"]) for r in per_sequence if r["tracker"] == "Good p"}
    assert good == pytest.approx({"Basketball": auc(4), "Biker": auc(2), "Bird1": auc(1)}, abs=1e-4)
    assert "Sequences" in result.table() and f"{GOOD_AUC:.2f}" in result.table()


def test_attribute_report_averages_the_sequences_of_each_attribute(otb_tree, tmp_path):
    out = tmp_path / "out"
    analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=out, plots=False)
    rows = {r["attribute"]: r for r in read_csv(out / "attributes.csv")}
    # otb_attributes.json: Basketball IV OCC DEF OPR BC; Biker SV OCC MB FM OPR OV LR; Bird1 DEF FM OV.
    expected = {"IV": [auc(4)], "OCC": [auc(4), auc(2)], "DEF": [auc(4), auc(1)], "FM": [auc(2), auc(1)],
                "LR": [auc(2)], "OV": [auc(2), auc(1)]}
    for short, values in expected.items():
        assert rows[short]["sequences"] == str(len(values))
        assert float(rows[short]["Good p"]) == pytest.approx(np.mean(values), abs=1e-4), short
        assert float(rows[short]["Bad p"]) == pytest.approx(auc(1), abs=1e-4)
    assert rows["OCC"]["name"] == "Occlusion" and float(rows["OCC"]["Good p"]) == pytest.approx(71.4286, abs=1e-4)
    # No sequence here has in-plane rotation: no score.
    assert rows["IPR"]["sequences"] == "0" and rows["IPR"]["Good p"] == ""
    markdown = (out / "attributes.md").read_text()
    assert "| Occlusion (OCC) | 2 | 23.81 | 71.43 |" in markdown
    assert "| In-Plane Rotation (IPR) | 0 | - | - |" in markdown


def test_attribute_lookup_strips_the_dataset_prefix_and_rejects_unknown_names(tmp_path):
    path = tmp_path / "att.json"
    path.write_text('{"att_name_short": ["A", "B"], "att_name_long": ["Alpha", "Beta"], "bike1": ["A", ""]}')
    attributes = read_attributes(path)
    assert attributes.lookup("uav_bike1", "uav") == {"A"} and attributes.lookup("bike1") == {"A"}
    assert attributes.lookup("uav_bike2", "uav") is None
    path.write_text('{"att_name_short": ["A"], "att_name_long": ["Alpha"], "bike1": ["C"]}')
    with pytest.raises(ValueError, match=r"att\.json: sequence bike1 has attributes \['C'\]"):
        read_attributes(path)


def test_datasets_without_attribute_file_get_no_attribute_report(tmp_path):
    gt = np.array([[10.0, 10.0, 20.0, 20.0]] * 3)
    sequences = SequenceList([Sequence("s", ["a", "b", "c"], "nfs", gt)])
    (tmp_path / "res" / "T" / "p").mkdir(parents=True)
    np.savetxt(tmp_path / "res" / "T" / "p" / "s.txt", gt, delimiter=",")
    result = analyse_dataset(sequences, [TrackerRuns("T", "p")], results_path=tmp_path / "res",
                             output_dir=tmp_path / "out", plots=False)
    assert sorted(p.name for p in result.files) == ["scores.csv", "scores.md", "sequences.csv"]
    assert not (tmp_path / "out" / "attributes.csv").exists()


def test_plots_are_png_and_pdf_with_scores_in_the_legend_best_first(otb_tree, tmp_path):
    out = tmp_path / "out"
    result = analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=out)
    for kind in PLOTS:
        assert (out / f"{kind.name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{kind.name}.pdf").read_bytes()[:5] == b"%PDF-"
        assert out / f"{kind.name}.png" in result.files
    assert legend_order(result, "AUC") == ["Good p", "Bad p"]
    legend = draw(result, PLOTS[0]).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [f"Good p [{GOOD_AUC:.1f}]", "Bad p [23.8]"]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_output_goes_to_result_plot_path_by_default(otb_tree, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_RESULT_PLOT_PATH", str(tmp_path / "plots"))
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(otb_tree.results))
    result = analyse_dataset(otb_tree.sequences, TRACKERS, plots=False)
    assert result.output_dir == tmp_path / "plots" / "otb" and (result.output_dir / "scores.csv").is_file()
    assert (result.output_dir / "cache").is_dir()


def test_missing_results_are_listed_or_left_out_for_every_tracker(otb_tree, tmp_path, caplog):
    otb_tree.results_file("Bad", "Bird1").unlink()
    otb_tree.results_file("Good", "Biker").unlink()
    with pytest.raises(FileNotFoundError) as error:
        analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=tmp_path / "o")
    message = str(error.value)
    assert "2 result files are missing (for 2 of 3 sequences)" in message
    assert str(otb_tree.results_file("Bad", "Bird1")) in message
    assert str(otb_tree.results_file("Good", "Biker")) in message
    with caplog.at_level(logging.INFO):
        result = analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results,
                                 output_dir=tmp_path / "o", skip_missing=True, plots=False)
    assert result.sequences == ["Basketball"] and result.left_out == ["Biker", "Bird1"]
    assert "2 of 3 sequences left out for every tracker" in caplog.text and "1 of 3 sequences used" in caplog.text
    assert result.scores["Good p"]["AUC"] == pytest.approx(auc(4))
    assert read_csv(tmp_path / "o" / "scores.csv")[0]["sequences"] == "1"


def test_duplicate_labels_and_first_frame_only_sequences_are_refused(otb_tree, tmp_path):
    with pytest.raises(ValueError, match="distinct labels"):
        analyse(otb_tree.sequences, [TrackerRuns("Good", "p"), TrackerRuns("Good", "p", (0,))],
                results_path=otb_tree.results)
    first_only = SequenceList([Sequence("s", ["a", "b"], "got10k", [[1.0, 1.0, 5.0, 5.0]], first_frame_only=True)])
    with pytest.raises(ValueError, match="only the first frame's ground truth"):
        analyse_dataset(first_only, TRACKERS, results_path=otb_tree.results, output_dir=tmp_path / "o")
    with pytest.raises(ValueError, match="no sequence 'Bikr'; did you mean Biker"):
        analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=tmp_path / "o",
                        sequences=["Bikr"])


def test_a_multi_run_average_is_labelled_with_its_run_count_in_tables_and_plots(otb_tree, tmp_path):
    # Runs 0..2 of "Good": the same files in three run folders.
    for run in range(3):
        for name in ("Basketball", "Biker", "Bird1"):
            target = otb_tree.results / "Good" / f"p_{run:03d}" / f"{name}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(otb_tree.results_file("Good", name).read_text())
    trackers = [TrackerRuns("Good", "p", (0, 1, 2)), TrackerRuns("Bad", "p"), TrackerRuns("Good", "p", (0, 1), "ATOM")]
    assert [t.label for t in trackers] == ["Good p (3 runs)", "Bad p", "ATOM (2 runs)"]
    out = tmp_path / "out"
    result = analyse_dataset(otb_tree.sequences, trackers, results_path=otb_tree.results, output_dir=out, plots=False)
    assert result.scores["Good p (3 runs)"]["AUC"] == pytest.approx(GOOD_AUC)
    assert [line.split("  ")[0] for line in result.table().splitlines()[1:]] == ["Good p (3 runs)", "Bad p",
                                                                                "ATOM (2 runs)"]
    assert [row["tracker"] for row in read_csv(out / "scores.csv")] == ["Good p (3 runs)", "Bad p", "ATOM (2 runs)"]
    assert "| Good p (3 runs) |" in (out / "scores.md").read_text()
    assert {row["tracker"] for row in read_csv(out / "sequences.csv")} == {"Good p (3 runs)", "Bad p", "ATOM (2 runs)"}
    legend = [text.get_text() for text in draw(result, PLOTS[0]).axes[0].get_legend().get_texts()]
    assert legend[0].startswith("Good p (3 runs) [") and any(t.startswith("ATOM (2 runs) [") for t in legend)
