"""Shared checks for chainrule.distributions: values and gradients against torch.distributions
(float64, tight tolerances) and against central differences (cr.gradcheck)."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def as_cr(array, grad: bool = True):
    return cr.tensor(np.asarray(array, dtype=np.float64), dtype=cr.float64, requires_grad=grad)


def as_torch(array, grad: bool = True):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def check(cr_fn, torch_fn, *arrays, rtol: float = 1e-12, atol: float = 1e-12):
    """``cr_fn`` and ``torch_fn`` take the arrays as float64 tensors that require grad; their
    outputs must agree, and so must the gradients of ``Σ out·w`` for a fixed random ``w``."""
    cr_inputs = [as_cr(a) for a in arrays]
    torch_inputs = [as_torch(a) for a in arrays]
    out, expected = cr_fn(*cr_inputs), torch_fn(*torch_inputs)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol, atol)
    finite = np.isfinite(expected.detach().numpy())
    weights = np.where(finite, np.random.default_rng(1).standard_normal(expected.shape), 0.0)
    if not expected.requires_grad:
        return out
    with np.errstate(invalid="ignore"):  # inf·0 where the output is infinite
        (out * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for mine, theirs in zip(cr_inputs, torch_inputs, strict=True):
        want = np.zeros(theirs.shape) if theirs.grad is None else theirs.grad.numpy()
        got = np.zeros(theirs.shape) if mine.grad is None else mine.grad.numpy()
        np.testing.assert_allclose(got, want, rtol, atol)
    return out


def gradcheck(fn, *arrays) -> None:
    """Central differences agree with the backpropagated gradients of ``fn``."""
    assert cr.gradcheck(fn, *[as_cr(a) for a in arrays])


def moments(samples, axis: int = 0):
    array = np.asarray(samples.detach(), dtype=np.float64)
    return array.mean(axis), array.var(axis)
