"""FairMOT's own commands (``src/track.py``, ``src/demo.py``) with FairMOT's flags:

    python pytracking/run_fairmot.py track mot --load_model PATH [--conf_thres 0.4] [--arch dla_34]
        [--reid_dim 128] [--track_buffer 30] [--min-box-area 100] [--K 500]
        [--param default] [--dataset_name mot17] [--sequence S] [--workers W] [--rerun]
    python pytracking/run_fairmot.py demo mot --load_model PATH --input-video V [--output-root DIR]
        [--conf_thres 0.4] ... [--video-resize 1920 1080]

``track`` runs the ``fairmot`` tracker with the parameter file ``--param`` (default ``default``)
through the evaluation runner (results in ``<results_path>/fairmot/<param>/``, MOTChallenge
rows); ``demo`` tracks a video and writes ``<output-root>/results.txt`` and
``<output-root>/results.mp4`` (the frames with the tracks). A flag given overrides the parameter
file's value; ``--load_model`` is FairMOT's released weights (with ``--arch``) or, for a file of
this toolkit's trainer (``.pth.tar``), its checkpoint.

FairMOT's demo resizes every frame to 1920 x 1080 before tracking, so its boxes are in the
pixels of that resized frame, not the video's, unless the video is 1920 x 1080. Here frames are
tracked as they are and boxes are in the video's pixels; ``--video-resize 1920 1080`` does what
the published demo does (results and video in 1920 x 1080 pixels).
"""

import argparse
import functools
import sys
from pathlib import Path

import cv2

from admin.environment import EnvironmentPathError
from pytracking.evaluation.running import RunInterrupted, add_run_arguments, entry_environment
from pytracking.evaluation.tracker import PARAMETER_PACKAGE, Tracker
from pytracking.tracker.base import TrackerParams

ARCHS = ("dla_34", "dlaconv_34", "resdcn_34", "resdcn_50", "tiny")
# flag destination -> tracker parameter
FLAG_PARAMETERS = {"load_model": "load_model", "conf_thres": "conf_thres", "arch": "arch", "reid_dim": "reid_dim",
                   "head_conv": "head_conv", "track_buffer": "track_buffer", "min_box_area": "min_box_area",
                   "K": "K", "down_ratio": "down_ratio"}


def overridden_parameters(module_name: str, overrides: dict) -> TrackerParams:
    """The parameter file's ``parameters()`` with ``overrides`` set (module-level: picklable for workers)."""
    import importlib

    params = importlib.import_module(module_name).parameters()
    for name, value in overrides.items():
        setattr(params, name, value)
    return params


def overrides_from(args: argparse.Namespace) -> dict:
    """The tracker parameters that the flags given set."""
    overrides = {FLAG_PARAMETERS[flag]: getattr(args, flag) for flag in FLAG_PARAMETERS
                 if getattr(args, flag) is not None}
    if args.not_reg_offset:
        overrides["reg_offset"] = False
    if args.input_size is not None:
        overrides["input_size"] = tuple(args.input_size)
    if args.load_model is not None:
        from pytracking.features.net_wrappers import resolve_network_path

        try:
            path = resolve_network_path(Path(args.load_model).expanduser().absolute()
                                        if Path(args.load_model).expanduser().exists() else args.load_model)
        except (FileNotFoundError, EnvironmentPathError, ValueError) as error:
            raise SystemExit(f"--load_model {args.load_model}: {error}") from None
        overrides["load_model"] = str(path)
        if path.name.endswith(".pth.tar"):  # a checkpoint of this toolkit's trainer
            overrides["checkpoint"], overrides["load_model"] = str(path), None
        else:
            overrides["checkpoint"] = None
    return overrides


def fairmot_tracker(param: str, overrides: dict) -> Tracker:
    base = Tracker("fairmot", param)  # an unknown parameter file: ValueError naming the known ones
    return Tracker.from_class(base.tracker_class,
                              functools.partial(overridden_parameters, f"{PARAMETER_PACKAGE}.fairmot.{param}", overrides),
                              name="fairmot", parameter_name=param)


def _add_fairmot_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=["mot"], help="FairMOT's task (mot)")
    parser.add_argument("--param", default="default", help="parameter file in pytracking/parameter/fairmot")
    parser.add_argument("--load_model", default=None, help="weights: FairMOT's released .pth or this toolkit's .pth.tar")
    parser.add_argument("--arch", default=None, help=f"network: {', '.join(ARCHS)}")
    parser.add_argument("--reid_dim", type=int, default=None, help="embedding size (128)")
    parser.add_argument("--head_conv", type=int, default=None, help="channels of the heads' hidden layer (256)")
    parser.add_argument("--conf_thres", type=float, default=None, help="detection score to track (0.4)")
    parser.add_argument("--track_buffer", type=int, default=None, help="frames a lost track is kept, at 30 fps (30)")
    parser.add_argument("--min-box-area", dest="min_box_area", type=float, default=None,
                        help="output only boxes of larger area (100)")
    parser.add_argument("--K", type=int, default=None, help="peaks read from the heatmap (500)")
    parser.add_argument("--down_ratio", type=int, default=None, help="output stride (4)")
    parser.add_argument("--not_reg_offset", action="store_true", help="ignore the offset head")
    parser.add_argument("--input-size", dest="input_size", type=int, nargs=2, metavar=("W", "H"), default=None,
                        help="network input size (1088 608)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytracking/run_fairmot.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    track = commands.add_parser("track", help="track a dataset (FairMOT's track.py)")
    _add_fairmot_flags(track)
    track.add_argument("--dataset_name", default="mot17", help="dataset to run on (default mot17)")
    track.add_argument("--sequence", default=None, help="only this sequence: its name or index")
    add_run_arguments(track)
    demo = commands.add_parser("demo", help="track a video (FairMOT's demo.py)")
    _add_fairmot_flags(demo)
    demo.add_argument("--input-video", dest="input_video", required=True, help="the video file")
    demo.add_argument("--output-root", dest="output_root", default="../demos",
                      help="folder for results.txt and results.mp4 (default ../demos, as FairMOT's)")
    demo.add_argument("--video-resize", dest="video_resize", type=int, nargs=2, metavar=("W", "H"), default=None,
                      help="resize every frame first, as FairMOT's demo does (1920 1080); boxes then in those pixels")
    demo.add_argument("--debug", type=int, default=None, help="debug level given to the tracker")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.arch is not None and args.arch not in ARCHS:
        raise SystemExit(f"--arch {args.arch!r} is not a FairMOT network of this toolkit; use one of {', '.join(ARCHS)}")
    overrides = overrides_from(args)
    try:
        if args.command == "track":
            return _track(args, overrides)
        return _demo(args, overrides)
    except RunInterrupted as stop:
        print(stop.summary(), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    return 130


def _track(args: argparse.Namespace, overrides: dict) -> int:
    from pytracking.run_tracker import run_on_dataset

    entry_environment("run_fairmot", args.debug)
    try:
        tracker = fairmot_tracker(args.param, overrides)
        tracker.get_parameters()
    except (ValueError, EnvironmentPathError, FileNotFoundError) as error:
        raise SystemExit(str(error)) from None
    return run_on_dataset(tracker, args)


def _demo(args: argparse.Namespace, overrides: dict) -> int:
    from ltr.data.box_files import BoxFileError
    from pytracking.evaluation.video import VideoError, open_capture, track_video_mot

    video = Path(args.input_video)
    entry_environment("run_fairmot", args.debug)
    try:
        capture = open_capture(video)
    except VideoError as error:
        raise SystemExit(str(error)) from None
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    # FairMOT's demo: the video's frame rate, rounded (LoadVideo.frame_rate).
    overrides.setdefault("frame_rate", int(round(fps)) if fps and fps > 0 else 30)
    output = Path(args.output_root)
    resize = None if args.video_resize is None else tuple(args.video_resize)
    if resize is not None:
        # As published: every frame resized before tracking (the tracker's frame_resize), and
        # the video written from the resized frames, so that it matches the boxes.
        overrides["frame_resize"] = resize
    try:
        tracker = fairmot_tracker(args.param, overrides)
        tracker.get_parameters()
        summary = track_video_mot(tracker, video, None, results_file=output / "results.txt",
                                  video_file=None if resize else output / "results.mp4", debug=args.debug,
                                  source_name=str(video))
        if resize is not None:
            write_resized_video(video, summary.tracks, resize, output / "results.mp4")
    except (ValueError, VideoError, EnvironmentPathError, FileNotFoundError, BoxFileError) as error:
        raise SystemExit(str(error)) from None
    print(summary.report())
    return 0


def write_resized_video(video: Path, tracks, size: tuple[int, int], path: Path) -> None:
    """``video``'s frames resized to ``size`` (w, h) with the stacked ``tracks`` (rows ``[frame,
    id, x, y, w, h, score]``, frames from 1) drawn, written to ``path`` (through a temporary file)."""
    import numpy as np

    from pytracking.evaluation.video import DEFAULT_FPS, VideoError, annotate_tracks, open_capture

    capture = open_capture(video)
    fps = capture.get(cv2.CAP_PROP_FPS)
    temporary = path.with_name(path.stem + ".partial" + path.suffix)
    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps if fps > 0 else DEFAULT_FPS, size)
    if not writer.isOpened():
        capture.release()
        raise VideoError(f"cannot write the video {temporary}: check the folder")
    try:
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            rows = tracks[tracks[:, 0] == index + 1][:, 1:7] if len(tracks) else np.zeros((0, 6))
            writer.write(annotate_tracks(cv2.resize(frame, size), rows, index, None))
            index += 1
    except BaseException:
        writer.release()
        temporary.unlink(missing_ok=True)  # no half-written video left behind
        raise
    finally:
        writer.release()
        capture.release()
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
