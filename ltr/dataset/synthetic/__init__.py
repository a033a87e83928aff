"""The embedded default dataset: generated tracking videos in GOT-10k's on-disk layout.

``python -m ltr.dataset.synthetic --out DIR`` writes it; see :mod:`.generate` for the layout and
:mod:`.scene` for what a video contains."""

from ltr.dataset.synthetic.generate import DatasetSummary, generate_dataset, sequence_name, sequence_plan
from ltr.dataset.synthetic.scene import Frame, SceneConfig, SequencePlan

__all__ = ["DatasetSummary", "Frame", "SceneConfig", "SequencePlan", "generate_dataset",
           "sequence_name", "sequence_plan"]
