"""The seed network (2 inputs → 1 sigmoid hidden → 1 sigmoid output, binary cross-entropy), read
as a learner reads it: every number of ``chainrule explain --example seed`` and of ``chainrule
demo`` is checked against a hand computation written here with ``math`` alone, and every
equation printed with numbers in it gives its printed result when redone from the printed
numbers, to 8 decimals."""

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from chainrule.explain import examples

TOL = 1e-8  # "to 8 decimals": the report prints 9


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def by_hand(i1, i2, w1, w2, b1, w3, b2, t, lr):
    """The seed network's forward pass, backward pass and one SGD step, by hand."""
    net_h1 = w1 * i1 + w2 * i2 + b1
    out_h1 = sigmoid(net_h1)
    net_o1 = w3 * out_h1 + b2
    out_o1 = sigmoid(net_o1)
    E = -(t * math.log(out_o1) + (1 - t) * math.log(1 - out_o1))
    dE_do = -(t / out_o1 - (1 - t) / (1 - out_o1))
    fp_o = out_o1 * (1 - out_o1)
    delta_o = dE_do * fp_o
    fp_h = out_h1 * (1 - out_h1)
    delta_h = fp_h * w3 * delta_o
    grads = {"w1": delta_h * i1, "w2": delta_h * i2, "b1": delta_h}
    grads.update({"w3": delta_o * out_h1, "b2": delta_o})
    old = {"w1": w1, "w2": w2, "b1": b1, "w3": w3, "b2": b2}
    new = {k: old[k] - lr * grads[k] for k in old}
    after_h = sigmoid(new["w1"] * i1 + new["w2"] * i2 + new["b1"])
    after_o = sigmoid(new["w3"] * after_h + new["b2"])
    E_after = -(t * math.log(after_o) + (1 - t) * math.log(1 - after_o))
    return {
        "net_h1": net_h1, "out_h1": out_h1, "net_o1": net_o1, "out_o1": out_o1, "E": E,
        "∂E/∂out_o1": dE_do, "∂out_o1/∂net_o1": fp_o, "δ_o1": delta_o,
        "∂out_h1/∂net_h1": fp_h, "δ_h1": delta_h, "grads": grads, "new": new,
        "E_after": E_after,
    }  # fmt: skip


def numbers_in(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?|-?\d+", text)]


def assert_printed(text: str, label: str, value: float) -> None:
    """The line that defines ``label`` ends with ``value`` (to 8 decimals)."""
    pattern = rf"^\s*{re.escape(label)} = .* = (-?[\d.]+)(?:\s{{3}}[\[(].*)?$"
    lines = [m.group(1) for m in re.finditer(pattern, text, flags=re.M)]
    assert lines, f"no line for {label}"
    assert abs(float(lines[0]) - value) < TOL, (label, lines[0], value)


def check_hand_numbers(text: str, hand: dict) -> None:
    for label in ("net_h1", "out_h1", "net_o1", "out_o1", "E", "∂E/∂out_o1", "δ_o1", "δ_h1"):
        assert_printed(text, label, hand[label])
    for name, grad in hand["grads"].items():
        assert_printed(text, f"∂E/∂{name}", grad) if name in ("w1", "w3") else None
        row = re.search(rf"^\s*{name}\s{{2,}}.*$", text.split("4. The update")[1], flags=re.M)
        cells = re.split(r"\s{2,}", row.group(0).strip())
        assert abs(float(cells[2]) - grad) < TOL and abs(float(cells[4]) - hand["new"][name]) < TOL
    # the two local derivatives σ'(z), in the chain table
    for factor in ("∂out_o1/∂net_o1", "∂out_h1/∂net_h1"):
        row = re.search(rf"^\s*{re.escape(factor)}\s.*$", text, flags=re.M).group(0)
        assert abs(numbers_in(row)[-1] - hand[factor]) < TOL
    # the shortcut a sigmoid output under binary cross-entropy allows: δ = (o − t)/n
    shortcut = re.search(
        r"δ = \(o − t\)/n with n = 1, .*: δ_o1 = \((\S+) − (\S+)\)/1 = (\S+)\.",
        " ".join(text.split()),  # a paragraph: wrapped at any width
    )
    o, t, delta = (float(g) for g in shortcut.groups())
    assert abs(o - hand["out_o1"]) < TOL and abs(delta - hand["δ_o1"]) < TOL
    assert abs((o - t) - delta) < TOL
    after = re.search(r"E after one step = (-?[\d.]+)", text)
    assert abs(float(after.group(1)) - hand["E_after"]) < TOL


_EVAL = {"sig": sigmoid, "log": math.log, "__builtins__": {}}


def evaluate(expr: str) -> float | None:
    """A printed numeric expression (``0.4·0.5 + (-0.6)·1``, ``σ(-0.3)``, ``ln(…)``) as a
    number, or None where it holds names (it is a formula, not numbers)."""
    expr = expr.strip()
    python = expr.replace("·", "*").replace("×", "*").replace("−", "-").replace("²", "**2")
    python = python.replace("σ(", "sig(").replace("ln(", "log(")
    python = python.replace("[", "(").replace("]", ")")
    if not re.fullmatch(r"[-+*/().\d\se]*|.*(sig|log)\(.*", python) or re.search(
        r"[A-Za-z_∂δΣ]", python.replace("sig(", "").replace("log(", "").replace("e-", "")
    ):
        return None
    try:
        return float(eval(python, _EVAL))  # digits and operators only, checked above
    except (SyntaxError, TypeError, ZeroDivisionError, NameError):
        return None


def check_equations_redo(text: str) -> int:
    """Every ``… = numbers = result`` and every ``[f'(z) = numbers]`` gives its printed result
    from its printed numbers; every table row ``old − η × grad  new`` and ``δ × a  .grad``
    too. Returns how many were checked."""
    checked = 0
    for line in text.splitlines():
        bracket = re.search(r"\s{3}\[(.*)\]$", line)
        body = re.sub(r"\s{3}[\[(].*$", "", line)
        parts = body.split(" = ")
        values = [evaluate(p) for p in parts]
        for a, b in zip(values, values[1:]):
            if a is not None and b is not None:
                assert abs(a - b) < TOL, line
                checked += 1
        if bracket and " = " in bracket.group(1):
            value = evaluate(bracket.group(1).split(" = ")[-1])
            factors = numbers_in(parts[-2])
            assert value is not None and any(abs(value - f) < TOL for f in factors), line
            checked += 1
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 4 and ("×" in cells[-2] or "−" in cells[-2]):
            expr, result = evaluate(cells[-2]), evaluate(cells[-1])
            if expr is not None and result is not None:
                assert abs(expr - result) < TOL, line
                checked += 1
    change = re.search(r"E before = (\S+),\s+E after one step = (\S+),\s+change = (\S+)", text)
    before, after, diff = (float(g) for g in change.groups())
    assert abs(after - before - diff) < TOL
    return checked


def test_the_seed_example_matches_a_hand_computation_number_by_number():
    text = examples.seed().text(width=None)
    hand = by_hand(0.5, 1.0, 0.4, -0.6, 0.1, 0.9, -0.3, t=1.0, lr=0.5)
    check_hand_numbers(text, hand)
    assert check_equations_redo(text) >= 20  # every equation and row with numbers


def test_the_demo_explains_row_0_with_numbers_a_learner_can_redo():
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "400", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "demo", "--no-plots", "--epochs", "1"],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    import chainrule as cr
    from chainrule.data import datasets
    from chainrule.models import mlp

    X, y = datasets.seed_example()
    cr.manual_seed(0)  # the demo's network, for its first (random) weights only
    model = mlp(2, [1], 1, activation="sigmoid", output_activation="sigmoid")
    w = {n: np.asarray(p.data, dtype=np.float64).reshape(-1) for n, p in model.named_parameters()}
    weights = (*w["0.weight"], w["0.bias"][0], w["2.weight"][0], w["2.bias"][0])
    hand = by_hand(X[0, 0], X[0, 1], *weights, t=float(y[0]), lr=0.5)
    # which example, in the learner's terms: row 0's x1, x2 are i1, i2 and its label is t
    said = re.search(r"row 0 of the data: x1 = (\S+) and x2 = (\S+) enter", text)
    assert said and abs(float(said.group(1)) - X[0, 0]) < TOL
    assert abs(float(said.group(2)) - X[0, 1]) < TOL
    assert f"its label {int(y[0])} is the target t" in text
    check_hand_numbers(text, hand)
    assert check_equations_redo(text.split("== Training")[0]) >= 20
    # the terms a learner meets are defined where they first appear
    for term in ("σ(z) = 1/(1 + e^(−z))", "n = 1: the mean is taken over", "θ stands for"):
        assert term in text, term


@pytest.mark.parametrize("line", ["  x = 1 + y = 2", "  E = huber(0.3) = 1"])
def test_the_checker_skips_formulas_and_names(line):
    assert check_equations_redo(line + "\nE before = 1,   E after one step = 1,   change = 0") == 0
