"""Lists of tensors that behave like one tensor: arithmetic and tensor methods apply to each
element. The tracker's optimisers work on them (a filter and a projection matrix are one
TensorList of parameters)."""

from __future__ import annotations

import functools
import operator

import torch


def _elementwise(op, reflected: bool = False):
    def method(self, other):
        if isinstance(other, TensorList):
            if len(other) != len(self):
                raise ValueError(f"TensorLists of lengths {len(self)} and {len(other)} do not match")
            pairs = zip(other, self) if reflected else zip(self, other)
            return TensorList(op(a, b) for a, b in pairs)
        return TensorList(op(other, e) if reflected else op(e, other) for e in self)

    return method


def _inplace(op):
    def method(self, other):
        others = other if isinstance(other, TensorList) else [other] * len(self)
        for i, (element, value) in enumerate(zip(self, others)):
            self[i] = op(element, value)
        return self

    return method


class TensorList(list):
    """A list of tensors (or TensorLists, or numbers) with element-wise arithmetic."""

    __add__, __radd__ = _elementwise(operator.add), _elementwise(operator.add, True)
    __sub__, __rsub__ = _elementwise(operator.sub), _elementwise(operator.sub, True)
    __mul__, __rmul__ = _elementwise(operator.mul), _elementwise(operator.mul, True)
    __truediv__, __rtruediv__ = _elementwise(operator.truediv), _elementwise(operator.truediv, True)
    __matmul__, __rmatmul__ = _elementwise(operator.matmul), _elementwise(operator.matmul, True)
    __mod__ = _elementwise(operator.mod)
    __pow__ = _elementwise(operator.pow)
    __eq__ = _elementwise(operator.eq)
    __ne__ = _elementwise(operator.ne)
    __lt__, __le__ = _elementwise(operator.lt), _elementwise(operator.le)
    __gt__, __ge__ = _elementwise(operator.gt), _elementwise(operator.ge)
    __iadd__, __isub__ = _inplace(operator.iadd), _inplace(operator.isub)
    __imul__, __itruediv__ = _inplace(operator.imul), _inplace(operator.itruediv)
    __hash__ = None

    def __neg__(self):
        return TensorList(-e for e in self)

    def __abs__(self):
        return TensorList(abs(e) for e in self)

    def __getitem__(self, item):
        if isinstance(item, int):
            return super().__getitem__(item)
        if isinstance(item, (tuple, list)):
            return TensorList(super(TensorList, self).__getitem__(i) for i in item)
        return TensorList(super().__getitem__(item))

    def copy(self) -> "TensorList":
        return TensorList(super().copy())

    def concat(self, other) -> "TensorList":
        return TensorList(list(self) + list(other))

    def apply(self, fn) -> "TensorList":
        return TensorList(fn(e) for e in self)

    def dot(self, other: "TensorList") -> torch.Tensor:
        """Sum over elements of the inner products: the inner product of the concatenation."""
        return functools.reduce(operator.add, ((a * b).sum() for a, b in zip(self, other)))

    def reshape(self, *shape) -> "TensorList":
        return TensorList(e.reshape(*shape) for e in self)

    def attribute(self, name: str, *default) -> "TensorList":
        return TensorList(getattr(e, name, *default) for e in self)

    def list(self) -> list:
        return list(self)

    def __getattr__(self, name: str):
        # Tensor methods (view, clone, detach, sum, to, ...) apply to every element.
        if name.startswith("__") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorList' has no attribute {name!r}")

        def apply_all(*args, **kwargs):
            return TensorList(getattr(e, name)(*args, **kwargs) for e in self)

        return apply_all


def tensor_operation(op):
    """Make a function of tensors accept TensorLists in its first argument, element-wise."""

    @functools.wraps(op)
    def wrapper(first, *args, **kwargs):
        if isinstance(first, TensorList):
            return TensorList(op(e, *args, **kwargs) for e in first)
        return op(first, *args, **kwargs)

    return wrapper
