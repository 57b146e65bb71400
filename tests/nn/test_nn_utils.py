"""nn.utils against torch.nn.utils: parameters_to_vector on the graph, vector_to_parameters."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(values, dtype="float64"):
    ours = [cr.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    theirs = [torch.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    return ours, theirs


def test_parameters_to_vector_is_differentiable_as_torch():
    values = [[1.0, 2.0], [[3.0, -1.0], [0.5, 4.0]]]
    ours, theirs = _pair(values)
    for lib, params in ((cr, ours), (torch, theirs)):
        vec = lib.nn.utils.parameters_to_vector(params)
        weights = lib.tensor(np.arange(6.0))
        (params[0].sum() + (vec**2 * weights).sum()).backward()
    assert ours[0].grad.tolist() == theirs[0].grad.tolist() == [1.0, 5.0]
    np.testing.assert_array_equal(np.asarray(ours[1].grad), theirs[1].grad.numpy())


def test_parameters_to_vector_values_and_dtype_promotion():
    ours = [cr.tensor([1.0, 2.0]), cr.tensor([3.0], dtype="float64", requires_grad=True)]
    theirs = [torch.tensor([1.0, 2.0]), torch.tensor([3.0], dtype=torch.float64)]
    vec = cr.nn.utils.parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    assert vec.tolist() == expected.tolist() and str(vec.dtype) == "float64"
    assert vec.requires_grad
    # a copy: changing the vector leaves the parameters alone
    vec.data[0] = 9.0
    assert ours[0].tolist() == [1.0, 2.0]


def test_vector_to_parameters_copies_values_as_torch():
    ours, theirs = _pair([[1.0, 2.0], [[3.0], [4.0]]])
    vec = np.array([5.0, 6.0, 7.0, 8.0])
    cr.nn.utils.vector_to_parameters(cr.tensor(vec), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), theirs)
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist() and a.is_leaf and a.requires_grad
    assert cr.nn.utils.parameters_to_vector(ours).tolist() == vec.tolist()


def test_vector_to_parameters_refuses_what_torch_would_do_differently():
    ours, _ = _pair([[1.0, 2.0]], dtype="float32")
    with pytest.raises(cr.ShapeError, match="length 2"):
        cr.nn.utils.vector_to_parameters(cr.zeros(3), ours)
    # torch would turn the float32 parameter into float64 (param.data = vec[...])
    with pytest.raises(cr.DTypeError, match="vec.to"):
        cr.nn.utils.vector_to_parameters(cr.zeros(2, dtype="float64"), ours)
