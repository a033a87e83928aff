import pytest
import torch

from ltr.data.tensordict import TensorDict
from ltr.data.tensorlist import TensorList, tensor_operation


def test_arithmetic_is_elementwise():
    a = TensorList([torch.ones(2), torch.full((3,), 2.0)])
    b = TensorList([torch.full((2,), 3.0), torch.ones(3)])
    assert [t.tolist() for t in a + b] == [[4, 4], [3, 3, 3]]
    assert [t.tolist() for t in 1 - a] == [[0, 0], [-1, -1, -1]]
    assert [t.tolist() for t in a * b / 2] == [[1.5, 1.5], [1, 1, 1]]
    assert a.dot(b).item() == 2 * 3 + 3 * 2
    c = a.clone()  # in-place operators change the tensors themselves
    c += b
    assert c[0].tolist() == [4, 4] and a[0].tolist() == [1, 1]
    with pytest.raises(ValueError, match="lengths"):
        a + TensorList([torch.ones(1)])


def test_tensor_methods_and_indexing_apply_to_each_element():
    a = TensorList([torch.ones(2, 3), torch.zeros(4)])
    assert [tuple(t.shape) for t in a.view(-1, 1)] == [(6, 1), (4, 1)]
    assert [t.item() for t in a.sum()] == [6, 0]
    assert isinstance(a[0:1], TensorList) and len(a[[0, 1]]) == 2
    assert tensor_operation(torch.sum)(a)[0].item() == 6
    with pytest.raises(AttributeError):
        a.not_a_method


def test_tensordict_moves_and_converts_every_tensor():
    td = TensorDict(x=torch.ones(2), boxes=[torch.zeros(1)], name="seq", inner=TensorList([torch.ones(1)]))
    converted = td.double()
    assert converted["x"].dtype == torch.float64 and converted["boxes"][0].dtype == torch.float64
    assert converted["inner"][0].dtype == torch.float64 and converted["name"] == "seq"
    assert td.apply(lambda v: v)["name"] == "seq" and td.copy() == td
