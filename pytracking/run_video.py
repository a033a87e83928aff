"""Track one object through a video file:

    python pytracking/run_video.py <tracker> <param> VIDEO [--init_box x y w h] [--save_results]
        [--output DIR] [--debug N] [--headless]

for example ``python pytracking/run_video.py opencv csrt clip.mp4 --init_box 120 80 60 40
--save_results``. The box is ``x y w h`` in pixels on the first frame. Without --init_box a window
shows the first frame: drag a rectangle around the target with the mouse, then SPACE or ENTER
to start (c cancels). With a display the tracking is shown live: q or Esc stops, r draws a new
box on the current frame. --headless never opens a window (--init_box is then required).

--save_results writes ``<output>/<video stem>.txt`` (one ``x,y,w,h`` row per frame) and
``<output>/<video stem>_tracked.mp4`` (the frames with the box, frame number and fps); the
default output folder is ``<results_path>/<tracker>/<param>/videos/``.

Multi-object trackers track every object; those that detect them themselves (tracktor default)
need nothing more, those that track given detections (sort, bytetrack, tracktor public) take a
detection file:

    python pytracking/run_video.py tracktor default clip.mp4 --save_results
    python pytracking/run_video.py sort default clip.mp4 --detections det.txt --save_results

--detections is a MOTChallenge detection file (``frame,id,x,y,w,h,score,...``, one row per
detection, frame numbers counting the video's frames from 1, id -1); no box is drawn.
--save_results then writes ``<video stem>.txt`` as
MOTChallenge rows ``frame,id,x,y,w,h,score,-1,-1,-1`` and ``<video stem>_tracked.mp4`` with each
track in a colour fixed by its identity and its id written beside it.
"""

import argparse
import sys
from pathlib import Path

import cv2

from admin.environment import EnvironmentPathError
from pytracking.evaluation.running import entry_environment
from pytracking.evaluation.tracker import Tracker
from ltr.data.box_files import BoxFileError
from pytracking.evaluation.video import (SelectionCancelled, VideoError, display_problem, track_video,
                                         track_video_mot, window_select, window_show)
from pytracking.tracker.outputs import MULTI_OBJECT

WINDOW = "run_video: q quits, r re-selects"


def output_paths(output: Path, video: Path) -> tuple[Path, Path]:
    """The box file and the annotated video for ``video`` in ``output``."""
    return output / f"{video.stem}.txt", output / f"{video.stem}_tracked.mp4"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_video.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker_name", help="tracker package in pytracking/tracker, e.g. opencv")
    parser.add_argument("tracker_param", help="parameter file in pytracking/parameter/<tracker>, e.g. csrt")
    parser.add_argument("video", type=Path, help="the video file")
    parser.add_argument("--init_box", type=float, nargs=4, metavar=("X", "Y", "W", "H"), default=None,
                        help="the target on the first frame, in pixels; drawn with the mouse when left out")
    parser.add_argument("--save_results", action="store_true", help="write the boxes and an annotated video")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for --save_results (default <results_path>/<tracker>/<param>/videos)")
    parser.add_argument("--debug", type=int, default=None, help="debug level given to the tracker")
    parser.add_argument("--network", default=None, metavar="PATH",
                        help="network checkpoint instead of the parameter file's net_path")
    parser.add_argument("--headless", action="store_true", help="never open a window")
    parser.add_argument("--detections", type=Path, default=None, metavar="DET_TXT",
                        help="multi-object trackers on given detections: a MOTChallenge detection file for the "
                             "video (frames counted from 1)")
    args = parser.parse_args(argv)

    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, network=args.network)
    except (ValueError, EnvironmentPathError) as error:
        raise SystemExit(str(error)) from None
    multi = tracker.frame_output is MULTI_OBJECT
    if multi and args.detections is None and tracker.tracker_class.needs_detections(tracker.get_parameters()):
        raise SystemExit(f"{tracker.label} tracks given detections: pass --detections DET_TXT, a MOTChallenge "
                         f"detection file for the video (or use a tracker that detects, e.g. tracktor default)")
    if not multi and args.detections is not None:
        raise SystemExit(f"{tracker.label} is a single-object tracker: it takes --init_box, not --detections")
    problem = "--headless was given" if args.headless else display_problem()
    if not multi and args.init_box is None and problem is not None:
        raise SystemExit(f"no --init_box given and no window to draw the box in ({problem}): give the target's "
                         f"box on the first frame as --init_box X Y W H (pixels)")
    entry_environment("run_video", args.debug)
    try:
        results_file = video_file = None
        if args.save_results:
            output = args.output if args.output is not None else tracker.results_dir / "videos"
            results_file, video_file = output_paths(output, args.video)
        show = select = None
        if problem is None:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
            show, select = window_show(WINDOW), window_select(WINDOW)
        if multi:
            summary = track_video_mot(tracker, args.video, args.detections, results_file=results_file,
                                      video_file=video_file, debug=args.debug, show=show)
        else:
            summary = track_video(tracker, args.video, args.init_box, results_file=results_file,
                                  video_file=video_file, debug=args.debug, select=select, show=show)
    except (ValueError, VideoError, SelectionCancelled, EnvironmentPathError, BoxFileError) as error:
        raise SystemExit(str(error)) from None
    except KeyboardInterrupt:
        kept = "; the frames tracked so far are in the .partial files beside the outputs" if args.save_results else ""
        print(f"interrupted: the video was not tracked to its end{kept}", file=sys.stderr)
        return 130
    finally:
        if problem is None:
            cv2.destroyAllWindows()
    print(summary.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
