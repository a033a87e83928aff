"""Multi-object tracking metrics (CLEAR, Identity, HOTA) scored as the official TrackEval code scores
MOTChallenge: ``evaluate_sequence(gt, tracker, num_frames)`` per sequence, ``combine([...])`` over
sequences, ``compute_scores(counts)`` for one sequence's scores."""

from pytracking.analysis.mot.metrics import (ALPHAS, MotCounts, box_iou_pairs, combine, combine_counts,
                                             compute_scores, evaluate_sequence)

__all__ = ["ALPHAS", "MotCounts", "box_iou_pairs", "combine", "combine_counts", "compute_scores",
           "evaluate_sequence"]
