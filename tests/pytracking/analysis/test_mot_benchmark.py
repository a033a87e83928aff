"""``benchmarks/mot_metrics.py --quick`` runs in seconds and ends with its JSON figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_quick_benchmark_ends_with_json():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mot_metrics.py"), "--quick", "--no-trackeval"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("sequences", "frames", "gt_boxes", "tracker_boxes", "ours_s", "trackeval_s", "speedup",
                "max_abs_diff", "HOTA", "MOTA", "IDF1"):
        assert key in figures, key
    assert figures["sequences"] == 3 and figures["gt_boxes"] > 0 and figures["ours_s"] > 0
    assert 0 < figures["HOTA"] < 1 and figures["trackeval_s"] is None
