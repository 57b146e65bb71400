"""a ** b at its edges (0⁰, 0 to a negative power, negative bases, integer tensors) against
PyTorch: values and both gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

BASES = np.array([0.0, 0.0, 0.0, 1.0, -2.0, -2.0, 2.0, 0.0, 3.0, -0.0])
EXPONENTS = np.array([0.0, 2.0, -1.0, 0.0, 2.0, 0.5, -1.0, 0.5, 0.0, 3.0])


@pytest.mark.parametrize("integer_exponent", [False, True])
def test_both_gradients_match_torch_at_the_edges(integer_exponent):
    exponents = EXPONENTS.astype(np.int64) if integer_exponent else EXPONENTS
    ta = torch.tensor(BASES, requires_grad=True)
    tb = torch.tensor(exponents, requires_grad=not integer_exponent)
    ca = cr.tensor(BASES, dtype=cr.float64, requires_grad=True)
    cb = cr.tensor(exponents, dtype=None if integer_exponent else cr.float64)
    cb.requires_grad = not integer_exponent
    upstream = np.linspace(0.5, 1.5, len(BASES))
    theirs, ours = ta**tb, ca**cb
    theirs.backward(torch.tensor(upstream))
    ours.backward(upstream)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(ca.grad.numpy(), ta.grad.numpy())
    if not integer_exponent:
        np.testing.assert_array_equal(cb.grad.numpy(), tb.grad.numpy())


def test_a_number_to_a_tensor_power_and_its_gradient():
    tx = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    cx = cr.tensor([-1.0, 0.0, 2.0], dtype=cr.float64, requires_grad=True)
    theirs, ours = torch.pow(0.0, tx), cr.pow(0.0, cx)
    theirs.sum().backward()
    ours.sum().backward()
    assert ours.tolist() == theirs.tolist()
    assert cx.grad.tolist() == tx.grad.tolist()


def test_integer_tensors_to_negative_integer_powers_round_toward_zero():
    a = [0, 1, -1, -1, 2, -3, 3, -2]
    b = [-1, -5, -1, -2, -3, -1, 2, 3]
    ours = cr.tensor(a, dtype="int32") ** cr.tensor(b, dtype="int8")
    theirs = torch.tensor(a, dtype=torch.int32) ** torch.tensor(b, dtype=torch.int8)
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == "int32"
