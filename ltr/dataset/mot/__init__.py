"""Multi-object tracking data: MOTChallenge (2DMOT15, MOT16, MOT17, MOT20), CrowdHuman, FairMOT/JDE
label lists, and converters between them (``python -m ltr.dataset.mot.convert --help``)."""

from ltr.dataset.mot.motchallenge import (BENCHMARKS, HALF_SPLITS, MOT17_DETECTORS, MotChallenge, MotFrame,
                                          MotSequenceData, SeqInfo, half_frame_range, read_seqinfo)

__all__ = ["BENCHMARKS", "HALF_SPLITS", "MOT17_DETECTORS", "MotChallenge", "MotFrame", "MotSequenceData", "SeqInfo",
           "half_frame_range", "read_seqinfo"]
