"""Values and gradients at the corners PyTorch defines: NaN, ±0, ±∞, ties and constant slices.

Each row runs the same expression in chainrule and in PyTorch on inputs made of those values and
compares the result and the input's gradient, NaN where PyTorch has NaN. Rows this file leaves
out, on purpose (docs/pytorch.md): softmax, log-softmax and cross-entropy of +∞ logits (PyTorch
gives NaN, chainrule the limit), GELU(+∞) (PyTorch NaN), and a product that holds NaN and zeros.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, 2.0, np.inf, -np.inf, np.nan, 1e-30, -1e30, 3.0]
PROBS = [0.0, 1.0, 0.5, 1e-8, 1 - 1e-7, 0.3]
TARGETS = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
ROWS = [[1.0, 1.0, -np.inf], [-np.inf, 0.0, 2.0], [-np.inf, -np.inf, 0.0], [3.0, 3.0, 3.0]]

CASES = [
    (SPECIAL, "lib.sigmoid(x)"),
    (SPECIAL, "lib.tanh(x)"),
    (SPECIAL, "lib.exp(x)"),
    (SPECIAL, "lib.log(x)"),
    (SPECIAL, "lib.sqrt(x)"),
    (SPECIAL, "lib.abs(x)"),
    (SPECIAL, "x.sign()"),
    (SPECIAL, "x ** 2"),
    (SPECIAL, "x ** 3"),
    (SPECIAL, "x ** 0"),  # constant: gradient 0 even at 0 and NaN
    (SPECIAL, "x ** -1"),
    (SPECIAL, "x.clamp(-1, 2)"),
    (SPECIAL, "x.clamp(min=0)"),
    (SPECIAL, "x.max()"),  # NaN: the NaN gets the gradient
    (SPECIAL, "x.min()"),
    (SPECIAL, "x[2:6].max()"),  # a tie shares it
    (SPECIAL, "x[2:6].amin()"),
    (SPECIAL, "lib.maximum(x, x.flip(0))"),  # NaN on either side: both sides get it
    (SPECIAL, "lib.minimum(x, lib.zeros(12))"),
    (SPECIAL, "lib.maximum(x, lib.ones(12))"),
    (SPECIAL, "F.relu(x)"),
    (SPECIAL, "F.leaky_relu(x, 0.1)"),
    (SPECIAL, "F.elu(x)"),  # NaN passes the gradient; elu(+0) is +0
    (SPECIAL, "F.elu(x, alpha=2.0)"),
    (SPECIAL, "F.softplus(x)"),
    (SPECIAL, "F.silu(x)"),
    (SPECIAL, "F.logsigmoid(x)"),
    (SPECIAL, "F.hardtanh(x)"),  # the bounds pass nothing, NaN passes
    (SPECIAL, "F.relu6(x * 3)"),
    (SPECIAL, "lib.nan_to_num(x)"),
    (SPECIAL, "x.nan_to_num(nan=0.5, posinf=2.0, neginf=-2.0)"),
    (SPECIAL, "x.reciprocal()"),
    (SPECIAL, "1 / x"),
    (SPECIAL, "x * 0"),
    (SPECIAL, "lib.where(x > 0, x, lib.zeros(12))"),
    (SPECIAL, "x.masked_fill(x > 1, 0.0)"),
    (SPECIAL, "x[[0, 0, 2]]"),
    (SPECIAL, "x.cumsum(0)"),
    (SPECIAL, "x.std()"),
    (SPECIAL, "x[4:6].std()"),  # a constant slice: gradient 0, not NaN
    (SPECIAL, "x[:1].std()"),
    (SPECIAL, "x.norm()"),
    (SPECIAL, "x[:2].norm()"),
    (SPECIAL, "x.log1p()"),
    (SPECIAL, "x[2:6].prod()"),
    (SPECIAL, "F.l1_loss(x, lib.zeros(12))"),
    (SPECIAL, "F.huber_loss(x, lib.zeros(12))"),
    (ROWS, "x.logsumexp(1)"),
    (ROWS, "x.max(1).values"),
    (ROWS, "x.amax(1)"),
    (ROWS, "x.min(0)[0]"),
    (ROWS, "x.std(1)"),
    (ROWS, "x.sort(1)[0]"),
    (ROWS, "F.nll_loss(x, lib.tensor([0, 1, 2, 0]))"),
    (ROWS, "F.mse_loss(x, lib.zeros(4, 3))"),
    (PROBS, "F.binary_cross_entropy(x, lib.tensor(TARGETS))"),
    (PROBS, "F.binary_cross_entropy_with_logits(x, lib.tensor(TARGETS))"),
    (PROBS, "F.binary_cross_entropy(x, 1 - lib.tensor(TARGETS), reduction='sum')"),
]


def run(lib, values, expression):
    x = lib.tensor(np.array(values, dtype=np.float32), requires_grad=True)
    env = {"lib": lib, "F": lib.nn.functional, "x": x, "TARGETS": TARGETS}
    with np.errstate(all="ignore"):
        out = eval(expression, env)  # noqa: S307 - the expressions above, nothing else
        out.sum().backward()
    value = out.detach().numpy() if lib is torch else out.detach().numpy()
    return np.asarray(value, dtype=np.float64), x.grad.numpy().astype(np.float64)


@pytest.mark.parametrize("values, expression", CASES, ids=[e for _, e in CASES])
def test_value_and_gradient_match_torch_at_the_corners(values, expression):
    ours, theirs = run(cr, values, expression), run(torch, values, expression)
    for mine, want, what in zip(ours, theirs, ("value", "gradient")):
        assert mine.shape == want.shape, (what, mine.shape, want.shape)
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(want), err_msg=what)
        np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-6, err_msg=what)
        exact_zero = (want == 0) & (mine == 0)
        np.testing.assert_array_equal(  # the sign of a zero value too (elu(+0) is +0)
            np.signbit(mine[exact_zero]) if what == "value" else 0,
            np.signbit(want[exact_zero]) if what == "value" else 0,
        )
