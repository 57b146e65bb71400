"""Differential trial of chainrule against PyTorch: ``add``/``sub``/``rsub`` with ``alpha=``
and the in-place arithmetic (``+=``, ``add_``, ``mul_``, ``masked_fill_``, ...) over every
pair of bool/uint8/int/float dtypes and Python numbers: same value and dtype, or both raise
(tests/ops/torch_differential.py).

Found here: ``alpha·other`` was computed in ``other``'s own dtype (uint8 255·2 wrapped to 254,
an int32 result widened to int64 by a bool, ``sub_(uint8, alpha=3)`` raised OverflowError),
and ``masked_fill_`` wrote a 0-d tensor's out-of-range value wrapped where PyTorch raises.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_differential import compare

torch = pytest.importorskip("torch")

ARRAYS = {
    "float64": np.array([0.5, -2.5, 3.0, -7.0]),
    "float32": np.array([0.5, -2.5, 3.0, -7.0], np.float32),
    "int64": np.array([0, -1, 7, -7], np.int64),
    "int32": np.array([0, -1, 7, -7], np.int32),
    "uint8": np.array([0, 1, 255, 7], np.uint8),
    "bool": np.array([True, False, True, False]),
}
NUMBERS = [-1, 2, 2.5, True]

ALPHA = {
    "add": lambda L, a, b: L.add(a, b, alpha=2),
    "sub": lambda L, a, b: L.sub(a, b, alpha=2),
    "add_method": lambda L, a, b: a.add(b, alpha=-3),
    "sub_method": lambda L, a, b: a.sub(b, alpha=2),
    "rsub": lambda L, a, b: L.rsub(a, b, alpha=2),
    "add_": lambda L, a, b: a.clone().add_(b, alpha=2),
    "sub_": lambda L, a, b: a.clone().sub_(b, alpha=3),
}
INPLACE = {
    "iadd": lambda L, a, b: a.clone().__iadd__(b),
    "isub": lambda L, a, b: a.clone().__isub__(b),
    "imul": lambda L, a, b: a.clone().__imul__(b),
    "idiv": lambda L, a, b: a.clone().__itruediv__(b),
    "ifloordiv": lambda L, a, b: a.clone().__ifloordiv__(b),
    "imod": lambda L, a, b: a.clone().__imod__(b),
    "ipow": lambda L, a, b: a.clone().__ipow__(b),
    "mul_": lambda L, a, b: a.clone().mul_(b),
    "div_": lambda L, a, b: a.clone().div_(b),
    "clamp_": lambda L, a, b: a.clone().clamp_(min=b),
    "copy_": lambda L, a, b: a.clone().copy_(b),
}
PAIRS = [(a, b) for a in ARRAYS for b in ARRAYS]


def _check(fn, arrays, grad):
    problems = compare(fn, arrays, grad=grad)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
@pytest.mark.parametrize("name", sorted(ALPHA))
def test_alpha_forms(name, pair):
    a, b = ARRAYS[pair[0]], np.roll(ARRAYS[pair[1]], 1)
    _check(ALPHA[name], [a, b], grad=True)


@pytest.mark.parametrize("number", NUMBERS, ids=repr)
@pytest.mark.parametrize("dtype", sorted(ARRAYS))
@pytest.mark.parametrize("name", sorted(ALPHA))
def test_alpha_forms_with_numbers(name, dtype, number):
    _check(lambda L, a: ALPHA[name](L, a, number), [ARRAYS[dtype]], grad=False)


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_dtype_mixes(name, pair):
    a, b = ARRAYS[pair[0]], np.roll(ARRAYS[pair[1]], 1)
    _check(INPLACE[name], [a, b], grad=False)
    _check(lambda L, x, y: INPLACE[name](L, x, y.sum()), [a, b], grad=False)  # 0-d operand


@pytest.mark.parametrize("number", NUMBERS, ids=repr)
@pytest.mark.parametrize("dtype", sorted(ARRAYS))
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_with_numbers(name, dtype, number):
    _check(lambda L, a: INPLACE[name](L, a, number), [ARRAYS[dtype]], grad=False)


@pytest.mark.parametrize("value", [-6.0, 300, -1, 2.5, 263, -129], ids=repr)
@pytest.mark.parametrize("dtype", ["uint8", "int32", "bool", "float32"])
@pytest.mark.parametrize("mask_any", [True, False])
def test_masked_fill_checks_the_value_range(dtype, value, mask_any):
    a = ARRAYS[dtype]
    mask = np.array([mask_any, False, mask_any, False])
    for wrap in (lambda L, v: v, lambda L, v: L.tensor(v)):
        _check(
            lambda L, x, m, w=wrap: x.clone().masked_fill_(m, w(L, value)), [a, mask], grad=False
        )
        _check(lambda L, x, m, w=wrap: x.masked_fill(m, w(L, value)), [a, mask], grad=False)


WRITES = {
    "add_": lambda t: t.add_(1),
    "mul_": lambda t: t.mul_(2),
    "copy_": lambda t: t.copy_(t * 0 + 1),
    "setitem": lambda t: t.__setitem__(0, 5.0),
}
# PyTorch writes these into the expanded tensor's memory (its base); chainrule refuses them
FILLS = {
    "fill_": lambda t: t.fill_(1.0),
    "zero_": lambda t: t.zero_(),
    "masked_fill_": lambda t: t.masked_fill_(t == 0, 1.0),
}


@pytest.mark.parametrize("name", sorted(WRITES) + sorted(FILLS))
def test_writes_into_an_expanded_tensor_raise_a_clear_error(name):
    """PyTorch refuses the first group ("more than one element of the written-to tensor
    refers to a single memory location"); chainrule said "shape () does not broadcast" or
    NumPy's "assignment destination is read-only" for all of them."""
    import chainrule as cr

    if name in WRITES:
        with pytest.raises(RuntimeError):
            WRITES[name](torch.zeros(2, 1).expand(2, 3))
    with pytest.raises(cr.ShapeError, match="broadcast view.*clone"):
        {**WRITES, **FILLS}[name](cr.zeros(2, 1).expand(2, 3))
