"""TensorList and tensor_operation, shared with training: they live in ``ltr.data.tensorlist``
(pytracking imports ltr, never the reverse) and are re-exported here for the trackers."""

from ltr.data.tensorlist import TensorList, tensor_operation

__all__ = ["TensorList", "tensor_operation"]
