"""Evaluation datasets: sequences with frame paths and ground truth, and the registry of
benchmarks (``get_dataset("otb")``)."""

from .data import Sequence, SequenceList
from .datasets import dataset_names, get_dataset

__all__ = ["Sequence", "SequenceList", "dataset_names", "get_dataset"]
