"""Time the synthetic dataset generator at the quick-start size (60 + 20 sequences of 100 frames,
480x360) against its one-minute target, with one process and with one per core.

    python benchmarks/synthetic_generation.py [--train 60 --val 20 --frames 100]
"""

import argparse
import json
import os
import tempfile

from ltr.dataset.synthetic import SceneConfig, generate_dataset

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=int, default=60)
    parser.add_argument("--val", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    config = SceneConfig(frames=args.frames)
    frames = (args.train + args.val) * args.frames
    figures = {"frames": frames, "cores": os.cpu_count()}
    for label, workers in (("one_process", 1), ("all_cores", os.cpu_count())):
        with tempfile.TemporaryDirectory() as out:
            summary = generate_dataset(out, train=args.train, val=args.val, config=config, workers=workers)
        figures[f"{label}_seconds"] = round(summary.seconds, 2)
        figures[f"{label}_frames_per_second"] = round(frames / summary.seconds, 1)
        print(f"{label:<12} ({workers} workers): {summary.seconds:6.1f} s, {frames / summary.seconds:6.0f} frames/s")
    figures["speedup_all_cores"] = round(figures["one_process_seconds"] / figures["all_cores_seconds"], 2)
    figures["target_seconds"] = TARGET_SECONDS
    figures["all_cores_share_of_target"] = round(figures["all_cores_seconds"] / TARGET_SECONDS, 3)
    print(f"all cores: {figures['speedup_all_cores']}x one process; "
          f"{figures['all_cores_share_of_target']:.0%} of the {TARGET_SECONDS:.0f} s target")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
