"""detect_anomaly names the first op that produced a NaN or inf, forward or backward."""

import importlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import Function

elementwise = importlib.import_module("chainrule.ops.elementwise")
power = importlib.import_module("chainrule.ops.power")
matmul = importlib.import_module("chainrule.ops.matmul")  # the package exports a function too

# Ten ops, each of a different class, each with a constant operand we can poison.
CHAIN = [
    ("Add", lambda h, c: h + c, np.full(3, 0.5)),
    ("Mul", lambda h, c: h * c, np.full(3, 1.5)),
    ("Sub", lambda h, c: h - c, np.full(3, 0.25)),
    ("Div", lambda h, c: h / c, np.full(3, 2.0)),
    ("Maximum", lambda h, c: cr.maximum(h, c), np.full(3, -5.0)),
    ("Minimum", lambda h, c: cr.minimum(h, c), np.full(3, 5.0)),
    ("Where", lambda h, c: cr.where(np.array([True, False, True]), h, c), np.full(3, 0.1)),
    ("MatMul", lambda h, c: h @ c, np.eye(3) * 0.9),
    ("Linear", lambda h, c: cr.functional.linear(h, c), np.eye(3) * 1.1),
    ("Pow", lambda h, c: c**h, np.full(3, 1.2)),
]
CLASSES = {
    "Add": elementwise.Add,
    "Mul": elementwise.Mul,
    "Sub": elementwise.Sub,
    "Div": elementwise.Div,
    "Maximum": elementwise.Maximum,
    "Minimum": elementwise.Minimum,
    "Where": elementwise.Where,
    "MatMul": matmul.MatMul,
    "Linear": matmul.Linear,
    "Pow": power.Pow,
}


def run_chain(poison_at=None):
    x = cr.tensor([0.3, -0.7, 1.1], dtype="float64", requires_grad=True)
    h = x
    for i, (_, op, constant) in enumerate(CHAIN):
        c = constant.copy()
        if i == poison_at:
            c.flat[1] = np.nan
        h = op(h, cr.tensor(c, dtype="float64"))
    loss = h.sum()
    loss.backward()
    return x


def test_clean_chain_runs_and_patch_is_removed():
    original = Function.__dict__["apply"]
    with cr.detect_anomaly():
        x = run_chain()
    assert np.isfinite(x.grad).all()
    assert Function.__dict__["apply"] is original


@pytest.mark.parametrize("position", range(len(CHAIN)))
def test_forward_nan_names_the_op(position):
    name = CHAIN[position][0]
    with np.errstate(all="ignore"), cr.detect_anomaly():
        with pytest.raises(cr.NonFiniteError, match="forward") as info:
            run_chain(poison_at=position)
    assert str(info.value).startswith(f"detect_anomaly: {name} ")


@pytest.mark.parametrize("position", range(len(CHAIN)))
def test_backward_nan_names_the_op(position, monkeypatch):
    name = CHAIN[position][0]
    cls = CLASSES[name]

    def poisoned(self, grad):
        return tuple(
            np.full(p.data.shape, np.nan) if need else None
            for p, need in zip(self.parents, self.needs_grad)
        )

    monkeypatch.setattr(cls, "backward", poisoned)
    with np.errstate(all="ignore"), cr.detect_anomaly():
        with pytest.raises(cr.NonFiniteError, match="backward") as info:
            run_chain()
    assert str(info.value).startswith(f"detect_anomaly: {name} ")


def test_without_anomaly_mode_nan_passes_silently():
    with np.errstate(all="ignore"):
        x = run_chain(poison_at=3)
    assert np.isnan(x.grad).any()


def test_natural_backward_inf_and_decorator_form():
    @cr.detect_anomaly()
    def step():
        x = cr.tensor([0.0, 4.0], dtype="float64", requires_grad=True)
        cr.sqrt(x).sum().backward()

    with np.errstate(divide="ignore"), pytest.raises(cr.NonFiniteError) as info:
        step()
    assert "Sqrt" in str(info.value) and "backward" in str(info.value)


def test_where_sqrt_trap_is_caught_in_forward():
    x = cr.tensor([-1.0, 4.0], dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore"), cr.detect_anomaly():
        with pytest.raises(cr.NonFiniteError, match="Sqrt .*forward"):
            cr.where(x > 0, cr.sqrt(x), 0.0)


def test_nested_blocks_restore_on_exit_even_after_an_error():
    original = Function.__dict__["apply"]
    with pytest.raises(RuntimeError), cr.detect_anomaly():
        with cr.detect_anomaly():
            raise RuntimeError
    assert Function.__dict__["apply"] is original
