"""Activations as formulas of ops that ONNX Runtime runs in float64.

Its CPU build has no float64 kernel for ``LeakyRelu`` and ``PRelu`` (opset 16 on), ``Elu``,
``Softplus``, ``HardSigmoid``, ``HardSwish`` or ``Softsign``, and node attributes (a slope, an
alpha) are float32. A float64 layer is therefore written with ``Where``, ``Exp``, ``Log``,
``Abs``, ``Clip`` and arithmetic on float64 constants, which it runs, to float64 rounding."""

from __future__ import annotations


def is_float64(out) -> bool:
    return str(out.dtype) == "float64"


def leaky(g, x: str, dtype, slope) -> str:
    """x where x >= 0 (NaN too), else slope · x; ``slope`` a number or a broadcasting const."""
    slope = slope if isinstance(slope, str) else g.scalar(slope, dtype, "slope")
    negative = g.add("Less", [x, g.scalar(0.0, dtype, "zero")])
    return g.add("Where", [negative, g.add("Mul", [x, slope]), x])


def elu(g, x: str, dtype, alpha, scale=1.0, input_scale=1.0) -> str:
    """scale · x for x > 0, else alpha · scale · (exp(input_scale · x) − 1)."""
    zero = g.scalar(0.0, dtype, "zero")
    inner = g.add("Mul", [g.add("Min", [x, zero]), g.scalar(input_scale, dtype, "input_scale")])
    curved = g.add("Sub", [g.add("Exp", [inner]), g.scalar(1.0, dtype, "one")])
    curved = g.add("Mul", [curved, g.scalar(alpha * scale, dtype, "alpha")])
    linear = x if scale == 1 else g.add("Mul", [x, g.scalar(scale, dtype, "scale")])
    return g.add("Where", [g.add("Greater", [x, zero]), linear, curved])


def log1p_exp_neg_abs(g, x: str, dtype) -> str:
    """ln(1 + e^(−|x|)): the exponential is at most 1, so it never overflows."""
    tail = g.add("Exp", [g.add("Neg", [g.add("Abs", [x])])])
    return g.add("Log", [g.add("Add", [tail, g.scalar(1.0, dtype, "one")])])


def softplus(g, x: str, dtype) -> str:
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^(−|x|))."""
    return g.add("Add", [g.add("Relu", [x]), log1p_exp_neg_abs(g, x, dtype)])


def hardsigmoid(g, x: str, dtype) -> str:
    """clip(x / 6 + 1/2, 0, 1)."""
    shifted = g.add(
        "Add", [g.add("Div", [x, g.scalar(6.0, dtype, "six")]), g.scalar(0.5, dtype, "half")]
    )
    return g.add("Clip", [shifted, g.scalar(0.0, dtype, "zero"), g.scalar(1.0, dtype, "one")])


def softsign(g, x: str, dtype) -> str:
    """x / (1 + |x|)."""
    return g.add("Div", [x, g.add("Add", [g.add("Abs", [x]), g.scalar(1.0, dtype, "one")])])
