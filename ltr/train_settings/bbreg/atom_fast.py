"""atom_default with the training step's speed options: the published recipe (data, network,
losses, schedule, the frozen backbone's BatchNorm in train mode), whose arithmetic changes only
by float rounding.

    python ltr/run_training.py bbreg atom_fast

- ``channels_last``: the frozen backbone's convolutions on channels-last tensors (oneDNN's faster
  kernels on a CPU); its features equal the contiguous ones within float tolerance.
- ``adam_fused``: Adam's fused kernel, the same update rule in one pass over each tensor instead
  of six; parameters differ from the per-operation update in the last bit (fused multiply-adds).

``benchmarks/train_step.py`` measures this step (``ours``) beside the original-style one.
"""

from ltr.train_settings.bbreg import atom_default


def configure(settings) -> None:
    atom_default.configure(settings)
    settings.network_kwargs = {**settings.network_kwargs, "channels_last": True}
    settings.adam_fused = True


def run(settings) -> None:
    configure(settings)
    atom_default.train(settings)
