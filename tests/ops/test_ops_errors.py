"""Every op family has wrong-shape / wrong-dtype cases: a typed error naming the op and shapes."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as fn

X = cr.randn(4, 3)
I4 = np.array([0, 1, 2, 0])

# name -> (call, error type, fragments the message must contain)
CASES = {
    "add": (lambda: X + cr.randn(2), cr.ShapeError, ["+", "(4, 3)", "(2,)"]),
    "sub": (lambda: X - cr.randn(5), cr.ShapeError, ["(4, 3)", "(5,)"]),
    "mul": (lambda: X * cr.randn(4, 2), cr.ShapeError, ["(4, 3)", "(4, 2)"]),
    "div": (lambda: X / cr.randn(2, 3), cr.ShapeError, ["(4, 3)", "(2, 3)"]),
    "pow": (lambda: X ** cr.randn(2), cr.ShapeError, ["pow", "(4, 3)", "(2,)"]),
    "maximum": (lambda: cr.maximum(X, cr.randn(5)), cr.ShapeError, ["max", "(5,)"]),
    "minimum": (lambda: cr.minimum(X, cr.randn(5)), cr.ShapeError, ["min", "(5,)"]),
    "where": (
        lambda: cr.where(X.data > 0, X, cr.randn(5)),
        cr.ShapeError,
        ["where", "(4, 3)", "(5,)"],
    ),
    "compare": (lambda: X < cr.randn(2), cr.ShapeError, ["less", "(2,)"]),
    "matmul": (lambda: X @ cr.randn(4, 2), cr.ShapeError, ["matmul", "(4, 3) @ (4, 2)"]),
    "matmul_0d": (lambda: X @ cr.tensor(1.0), cr.ShapeError, ["matmul", "()"]),
    "matmul_batch": (
        lambda: cr.randn(2, 4, 3) @ cr.randn(3, 3, 2),
        cr.ShapeError,
        ["matmul", "(2,)", "(3,)"],
    ),
    "linear": (lambda: fn.linear(X, cr.randn(2, 4)), cr.ShapeError, ["linear", "(4, 3)"]),
    "linear_bias": (
        lambda: fn.linear(X, cr.randn(2, 3), cr.randn(3)),
        cr.ShapeError,
        ["linear", "(3,)"],
    ),
    "reshape": (lambda: X.reshape(5, 2), cr.ShapeError, ["reshape", "(4, 3)", "(5, 2)"]),
    "cat": (
        lambda: cr.cat([X, cr.randn(3, 3)], axis=1),
        cr.ShapeError,
        ["cat", "(4, 3)", "(3, 3)"],
    ),
    "stack": (lambda: cr.stack([X, cr.randn(3, 3)]), cr.ShapeError, ["stack", "(3, 3)"]),
    "split": (lambda: X.split([1, 2]), cr.ShapeError, ["split", "[1, 2]"]),
    "getitem": (lambda: X[5], cr.ShapeError, ["index", "(4, 3)"]),
    "permute": (lambda: X.permute(0, 0), cr.ShapeError, ["permute", "(0, 0)"]),
    "expand": (lambda: X.expand(4, 5), cr.ShapeError, ["expand", "(4, 3)", "(4, 5)"]),
    "squeeze": (lambda: X.squeeze(4), cr.ShapeError, ["squeeze", "axis 4"]),
    "unsqueeze": (lambda: X.unsqueeze(5), cr.ShapeError, ["unsqueeze", "axis 5"]),
    "pad": (lambda: cr.pad(X, ((1, 1), (1, 1), (1, 1))), cr.ShapeError, ["pad", "(4, 3)"]),
    "sum": (lambda: X.sum(axis=2), cr.ShapeError, ["sum", "axis 2"]),
    "mean": (lambda: X.mean(axis=-3), cr.ShapeError, ["mean", "axis -3"]),
    "max": (lambda: X.max(axis=2), cr.ShapeError, ["max", "axis 2"]),
    "logsumexp": (lambda: X.logsumexp(axis=2), cr.ShapeError, ["logsumexp"]),
    "softmax": (lambda: fn.softmax(X, 3), cr.ShapeError, ["softmax", "axis 3"]),
    # a tuple dim: PyTorch's TypeError
    "log_softmax": (lambda: fn.log_softmax(X, dim=(0, 1)), TypeError, ["log_softmax"]),
    "leaky_relu_int": (
        lambda: fn.leaky_relu(cr.tensor([1, 2])),
        cr.DTypeError,
        ["leaky_relu", "int64"],
    ),
    "elu_int": (lambda: fn.elu(cr.tensor([1, 2])), cr.DTypeError, ["elu", "int64"]),
    "gelu_int": (lambda: fn.gelu(cr.tensor([1, 2])), cr.DTypeError, ["gelu", "int64"]),
    "softplus_int": (lambda: fn.softplus(cr.tensor([1])), cr.DTypeError, ["softplus"]),
    "silu_int": (lambda: fn.silu(cr.tensor([1])), cr.DTypeError, ["silu"]),
    "log_sigmoid_int": (lambda: fn.log_sigmoid(cr.tensor([1])), cr.DTypeError, ["log_sigmoid"]),
    "softmax_int": (lambda: fn.softmax(cr.tensor([1, 2])), cr.DTypeError, ["softmax"]),
    "object_data": (lambda: X + np.array([object()] * 3), cr.DTypeError, ["object"]),
    "string_data": (lambda: cr.tensor(np.array(["a"])), cr.DTypeError, ["<U1"]),
    "int_requires_grad": (lambda: cr.tensor([1, 2], requires_grad=True), cr.DTypeError, ["int64"]),
    "mse": (lambda: fn.mse_loss(X, np.zeros(3)), cr.ShapeError, ["mse_loss", "(4, 3)", "(3,)"]),
    "l1": (lambda: fn.l1_loss(X, np.zeros((3, 4))), cr.ShapeError, ["l1_loss", "(3, 4)"]),
    "huber": (lambda: fn.huber_loss(X, np.zeros(4)), cr.ShapeError, ["huber_loss", "(4,)"]),
    "bce": (
        lambda: fn.binary_cross_entropy(fn.sigmoid(X), np.zeros((4, 1))),
        cr.ShapeError,
        ["binary_cross_entropy", "(4, 3)", "(4, 1)"],
    ),
    "bce_range": (
        lambda: fn.binary_cross_entropy(X, np.zeros((4, 3))),
        cr.DataError,
        ["binary_cross_entropy", "[0, 1]"],
    ),
    "bce_logits": (
        lambda: fn.binary_cross_entropy_with_logits(X, np.zeros(4)),
        cr.ShapeError,
        ["binary_cross_entropy_with_logits", "(4, 3)", "(4,)"],
    ),
    "bce_logits_pos_weight": (
        lambda: fn.binary_cross_entropy_with_logits(X, np.zeros((4, 3)), pos_weight=np.ones(4)),
        cr.ShapeError,
        ["pos_weight", "(4,)"],
    ),
    "ce_float_labels": (
        lambda: fn.cross_entropy(X, np.zeros(4)),
        cr.DTypeError,
        ["cross_entropy", "float64", "integers"],
    ),
    "ce_shape": (
        lambda: fn.cross_entropy(X, np.zeros(3, dtype=int)),
        cr.ShapeError,
        ["cross_entropy", "(4, 3)", "(3,)"],
    ),
    "ce_class_range": (
        lambda: fn.cross_entropy(X, np.array([0, 1, 2, 3])),
        cr.DataError,
        ["cross_entropy", "3"],
    ),
    "ce_weight": (
        lambda: fn.cross_entropy(X, I4, weight=np.ones(4)),
        cr.ShapeError,
        ["cross_entropy", "(4,)", "(3,)"],
    ),
    "ce_scalar_input": (
        lambda: fn.cross_entropy(cr.tensor(1.0), np.array(0)),
        cr.ShapeError,
        ["cross_entropy"],
    ),
    "ce_int_input": (
        lambda: fn.cross_entropy(cr.tensor([[1, 2]]), np.array([0])),
        cr.DTypeError,
        ["cross_entropy", "int64"],
    ),
    "nll_float_labels": (lambda: fn.nll_loss(X, np.zeros(4)), cr.DTypeError, ["nll_loss"]),
    "nll_shape": (
        lambda: fn.nll_loss(X, np.zeros((4, 2), dtype=int)),
        cr.ShapeError,
        ["nll_loss", "(4, 2)"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_names_the_op_and_shapes(name):
    call, error, fragments = CASES[name]
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} missing from: {info.value}"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_cross_entropy_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn.cross_entropy(X, I4, **kwargs)


def test_huber_rejects_non_positive_delta():
    with pytest.raises(ValueError, match="delta"):
        fn.huber_loss(X, np.zeros((4, 3)), delta=0.0)
