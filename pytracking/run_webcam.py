"""Track one object live from a camera:

    python pytracking/run_webcam.py <tracker> <param> [--camera 0] [--save_results] [--output DIR]
        [--debug N]

A window shows the camera. Keys: SPACE or s freezes the picture; drag a rectangle around the
target with the mouse and press SPACE or ENTER to start tracking (c cancels and goes back to
the live picture). While tracking, r freezes the current picture to draw a new box, q or Esc
quits. Needs a display.

--save_results writes ``<output>/camera<N>_<date-time>.txt`` (one ``x,y,w,h`` row per tracked
frame) and ``<output>/camera<N>_<date-time>_tracked.mp4``; the default output folder is
``<results_path>/<tracker>/<param>/videos/``.
"""

import argparse
import sys
import time
from pathlib import Path

import cv2

from admin.environment import EnvironmentPathError
from pytracking.evaluation.running import entry_environment
from pytracking.evaluation.tracker import Tracker
from pytracking.evaluation.video import (QUIT_KEYS, SelectionCancelled, VideoError, display_problem, open_capture,
                                         track_video, window_select, window_show)

WINDOW = "run_webcam: SPACE freezes to draw a box, r re-selects, q quits"


def wait_for_start(capture: cv2.VideoCapture, camera: int) -> bool:
    """Show the live camera until SPACE or s (True) or q / Esc (False)."""
    show = window_show(WINDOW)
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoError(f"could not read a frame from camera {camera}: is it in use by another program?")
        key = show(frame)
        if key in (ord(" "), ord("s")):
            return True
        if key in QUIT_KEYS:
            return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_webcam.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker_name", help="tracker package in pytracking/tracker, e.g. opencv")
    parser.add_argument("tracker_param", help="parameter file in pytracking/parameter/<tracker>, e.g. csrt")
    parser.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    parser.add_argument("--save_results", action="store_true", help="write the boxes and an annotated video")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for --save_results (default <results_path>/<tracker>/<param>/videos)")
    parser.add_argument("--debug", type=int, default=None, help="debug level given to the tracker")
    parser.add_argument("--network", default=None, metavar="PATH",
                        help="network checkpoint instead of the parameter file's net_path")
    args = parser.parse_args(argv)

    problem = display_problem()
    if problem is not None:
        raise SystemExit(f"run_webcam.py needs a window to show the camera and draw the box in, but {problem}. "
                         f"To track a recorded video without a display use pytracking/run_video.py with --init_box")
    entry_environment("run_webcam", args.debug)
    capture = None
    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, network=args.network)
        results_file = video_file = None
        if args.save_results:
            output = args.output if args.output is not None else tracker.results_dir / "videos"
            stem = f"camera{args.camera}_{time.strftime('%Y%m%d-%H%M%S')}"
            results_file, video_file = output / f"{stem}.txt", output / f"{stem}_tracked.mp4"
        capture = open_capture(args.camera)
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        while True:
            if not wait_for_start(capture, args.camera):
                print("quit before a box was drawn; nothing tracked")
                return 0
            try:
                summary = track_video(tracker, capture, None, results_file=results_file, video_file=video_file,
                                      debug=args.debug, select=window_select(WINDOW), show=window_show(WINDOW),
                                      source_name=f"camera {args.camera}")
                break
            except SelectionCancelled:
                continue  # back to the live picture
    except (ValueError, VideoError, EnvironmentPathError) as error:
        raise SystemExit(str(error)) from None
    except KeyboardInterrupt:
        kept = "; the frames tracked so far are in the .partial files beside the outputs" if args.save_results else ""
        print(f"interrupted: tracking stopped{kept}", file=sys.stderr)
        return 130
    finally:
        if capture is not None:
            capture.release()
        cv2.destroyAllWindows()
    print(summary.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
