"""An ordered dict of tensors (and lists of them) that batches and moves as one."""

from __future__ import annotations

from collections import OrderedDict

import torch

from ltr.data.tensorlist import TensorList


class TensorDict(OrderedDict):
    """``td.to(device)``, ``td.float()``, ...: tensor methods apply to every value that has them;
    lists and TensorLists are mapped element-wise, everything else is kept as it is."""

    def concat(self, other: "TensorDict") -> "TensorDict":
        return TensorDict(self, **other)

    def copy(self) -> "TensorDict":
        return TensorDict(super().copy())

    def __deepcopy__(self, memodict=None):
        return TensorDict({k: (v.clone() if torch.is_tensor(v) else v) for k, v in self.items()})

    def __getattr__(self, name: str):
        if name.startswith("_") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorDict' has no attribute {name!r}")

        def apply(value, args, kwargs):
            if torch.is_tensor(value) or isinstance(value, TensorList):
                return getattr(value, name)(*args, **kwargs)
            if isinstance(value, (list, tuple)):
                return type(value)(apply(v, args, kwargs) for v in value)
            return value

        def apply_all(*args, **kwargs):
            return TensorDict({k: apply(v, args, kwargs) for k, v in self.items()})

        return apply_all

    def attribute(self, name: str, *default) -> "TensorDict":
        return TensorDict({k: getattr(v, name, *default) for k, v in self.items()})

    def apply(self, fn, *args, **kwargs) -> "TensorDict":
        return TensorDict({k: fn(v, *args, **kwargs) for k, v in self.items()})
