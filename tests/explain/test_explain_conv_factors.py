"""cr.explain through convolutions with stride, padding, dilation and groups: a factor
∂out/∂W[o, c, i, j] names the input pixel under that tap and ∂out/∂x the kernel weight that
met the pixel (the formula's xpad[n, c, y·s + i·d, x·s + j·d] alone left the reader to work out
which), and the element named holds the factor's value."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _element(report, name: str) -> float:
    """The value of a named element (``x[0, 1, 2, 3]``, ``0.weight[3, 1, 2, 0]``)."""
    base, index = re.fullmatch(r"(.+)\[([\d, ]+)\]", name).groups()
    naming = report._names
    (t,) = [t for t in report.graph.tensors if naming.tensor(t) == base]
    return float(t.array[tuple(int(v) for v in index.split(","))])


@pytest.mark.parametrize("param", ["0.weight[3, 0, 2, 0]", "0.weight[0, 0, 1, 1]", "0.bias[2]"])
def test_each_convolution_factor_names_the_element_it_is(param):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2),
        nn.Tanh(),
        nn.Conv2d(4, 2, 2, dilation=2, padding=1),
        nn.Flatten(),
        nn.Linear(18, 1),
    )
    x = np.random.default_rng(1).normal(size=(1, 2, 6, 6))
    report = cr.explain(model, x, np.array([[0.5]]), nn.MSELoss(), param=param)
    (chain,) = report.data["chains"]
    named = 0
    for path in chain["paths"]:
        for f in path["factors"]:
            if f["formula"].startswith(("xpad[", "W[o, c, i, j]")):
                letter, element = f["refers_to"].split(" = ")
                assert letter == ("x" if f["formula"].startswith("xpad[") else "W")
                assert _element(report, element) == pytest.approx(f["value"], abs=1e-12)
                named += 1
    assert named >= len(chain["paths"])  # every path crosses at least one convolution
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)
