"""One call for a whole analysis: load the dataset, score the trackers (through the curve cache)
and write the tables and plots into ``<result_plot_path>/<dataset>/``."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from pathlib import Path

from admin.environment import EnvironmentPathError, env_settings, where_to_set
from pytracking.analysis.attributes import load_attributes
from pytracking.analysis.evaluate import AnalysisResult, TrackerRuns, analyse
from pytracking.analysis.mot_report import (MotAnalysisResult, analyse_mot, is_mot_dataset, write_mot_plots,
                                            write_mot_reports)
from pytracking.analysis.reports import write_reports
from pytracking.evaluation.data import SequenceList
from pytracking.evaluation.datasets import get_dataset

logger = logging.getLogger(__name__)
CACHE_FOLDER = "cache"
# The datasets whose tables carry GOT-10k's AO, SR0.5 and SR0.75 without being asked.
GOT10K_DATASETS = frozenset({"got10k"})


class OutputWriteError(Exception):
    """The analysis was computed but its tables or plots could not be written. ``result`` holds
    the scores (nothing computed is lost); the message names the folder and the setting."""

    def __init__(self, message: str, result: AnalysisResult | MotAnalysisResult):
        super().__init__(message)
        self.result = result


def _write_error(error: OSError, output_dir: Path, local_file: Path | None,
                 result: AnalysisResult | MotAnalysisResult) -> OutputWriteError:
    reason = error.strerror or str(error)
    where = ("pass a writable folder as the output folder (--output / output_dir)" if local_file is None else
             f"{where_to_set('result_plot_path', local_file)} to a writable folder, or pass --output DIR")
    return OutputWriteError(f"cannot write the analysis tables and plots into {output_dir} ({reason}: "
                            f"{error.filename or output_dir}): {where}", result)


def _select(sequences: SequenceList, names: Iterable[str] | None, dataset: str) -> SequenceList:
    if names is None:
        return sequences
    known = set(sequences.names())
    selected = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"dataset {dataset} has no sequence {name!r}{hint}")
        selected.append(sequences[name])
    return SequenceList(selected)


def _protocol_name(sequences: SequenceList, fallback: str) -> str:
    """The loader's dataset name, which selects the protocol (``tpl_nootb`` sequences are ``tpl``)."""
    names = {seq.dataset for seq in sequences}
    if len(names) > 1:
        raise ValueError(f"the sequences come from several datasets ({', '.join(sorted(names))}); "
                         f"analyse each dataset on its own, as each has its own protocol")
    return names.pop() if names else fallback


def analyse_dataset(dataset: str | SequenceList, trackers: Iterable[TrackerRuns], *,
                    results_path: str | Path | None = None, output_dir: str | Path | None = None,
                    skip_missing: bool = False, plots: bool = True, attributes: bool = True, use_cache: bool = True,
                    sequences: Iterable[str] | None = None, dataset_root: str | Path | None = None,
                    allow_short_results: bool = False, got10k_metrics: bool | None = None
                    ) -> AnalysisResult | MotAnalysisResult:
    """Analyse ``trackers`` on ``dataset`` (a name known to ``get_dataset``, loaded from
    ``dataset_root`` or its environment field; or a SequenceList) and write the outputs.

    Args:
        results_path: where the raw results are (default: the environment's ``results_path``).
        output_dir: where tables, plots and the curve cache go (default:
            ``<result_plot_path>/<dataset>``).
        skip_missing: leave out the sequences whose results are missing for any tracker
            (logged) instead of raising FileNotFoundError listing the missing files.
        plots: write the success, precision and normalised precision plots (PNG and PDF).
        attributes: write the per-attribute tables where the dataset has an attribute file.
        use_cache: read and write the curve cache in ``<output_dir>/cache``.
        sequences: names of the sequences to analyse (default: all).
        allow_short_results: score result files that miss their last frames (as some
            published results do) with those frames counted as failures, as pytracking's
            analysis does; ``result.short_results`` lists them per tracker. Without it they are
            an error.
        got10k_metrics: add GOT-10k's AO, SR0.5 and SR0.75 (the official toolkit's rules) to the
            tables; None: on GOT-10k only.

    A dataset of multi-object sequences (``MotSequence``: mot15..mot20, synthetic_mot) is scored by
    :mod:`pytracking.analysis.mot_report` instead (CLEAR, Identity, HOTA; its tables and HOTA curve
    plots; ``attributes``, ``use_cache``, ``allow_short_results`` and ``got10k_metrics`` do not
    apply) and a MotAnalysisResult returned.

    Raises:
        OutputWriteError: the tables or plots cannot be written; its ``result`` holds the scores.
            (A curve cache that cannot be written is only a warning.)

    Returns:
        the AnalysisResult, with ``output_dir`` and ``files`` (what was written) set.
    """
    trackers = list(trackers)
    if isinstance(dataset, str):
        name = dataset
        loaded = get_dataset(name, **({"root": dataset_root} if dataset_root is not None else {}))
    else:
        loaded = SequenceList(dataset)
        name = _protocol_name(loaded, "custom")
    protocol = _protocol_name(loaded, name)
    loaded = _select(loaded, sequences, name)
    partial = [seq.name for seq in loaded if seq.first_frame_only]
    if partial:
        raise ValueError(f"{len(partial)} sequences of {name} have only the first frame's ground truth "
                         f"(e.g. {partial[0]}): this split is scored by the benchmark's server, not here")
    explicit_output = output_dir is not None
    settings = env_settings() if results_path is None or output_dir is None else None
    results_path = Path(results_path if results_path is not None else settings.results_path)
    if output_dir is None:
        # Not created yet: an unwritable result_plot_path must not stop the scoring (item: the
        # scores are shown whatever happens to the outputs); the cache there is only a warning.
        plot_root = settings.value("result_plot_path")
        output_dir = Path(plot_root) / name if plot_root is not None else None
    else:
        output_dir = Path(output_dir)
    mot = is_mot_dataset(loaded)
    if mot:
        result = analyse_mot(loaded, trackers, results_path=results_path, dataset=protocol, skip_missing=skip_missing)
        table_attributes = None
    else:
        result = analyse(loaded, trackers, results_path=results_path, dataset=protocol, skip_missing=skip_missing,
                         cache_dir=output_dir / CACHE_FOLDER if use_cache and output_dir is not None else None,
                         allow_short_results=allow_short_results,
                         got10k_metrics=protocol in GOT10K_DATASETS if got10k_metrics is None else got10k_metrics)
        table_attributes = load_attributes(protocol) if attributes else None
    logger.info("%s: %d of %d sequences used", name, len(result.sequences), len(loaded))
    if not explicit_output:
        try:
            settings.path("result_plot_path")  # creates it, or says which setting to fix
        except EnvironmentPathError as error:
            raise OutputWriteError(f"cannot write the analysis tables and plots: {error} Or pass --output DIR.",
                                   result) from error
    result.output_dir = output_dir
    try:
        if mot:
            files = write_mot_reports(result, output_dir)
            if plots:
                files += write_mot_plots(result, output_dir)  # loads matplotlib itself, only then
        else:
            files = write_reports(result, output_dir, table_attributes)
            if plots:
                # matplotlib loads only when plots are asked for.
                from pytracking.analysis.plots import write_plots
                files += write_plots(result, output_dir)
    except OSError as error:
        raise _write_error(error, output_dir, None if explicit_output else settings.local_file, result) from error
    result.output_dir, result.files = output_dir, files
    logger.info("analysis of %s written to %s", name, output_dir)
    return result
