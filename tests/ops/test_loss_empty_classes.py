"""cross_entropy, nll_loss and CrossEntropyLoss with zero classes or zero rows answer as PyTorch's:
the same value (NaN for a mean over nothing) and an empty gradient, or an error where PyTorch
raises one (a target class with no classes to pick from)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

IGNORED = -100
# (input shape, target kind): "index" targets are class 0, "ignored" all ignore_index,
# "probs" class probabilities of the input's shape
CASES = [
    ((3, 0), "index"),
    ((3, 0), "ignored"),
    ((3, 0), "probs"),
    ((0, 3), "index"),
    ((0, 3), "probs"),
    ((0, 0), "index"),
    ((0, 0), "probs"),
    ((0,), "probs"),
    ((0,), "index"),
    ((2, 0, 3), "index"),
    ((2, 0, 3), "probs"),
    ((2, 0, 3, 4), "ignored"),
    ((0, 3, 4), "index"),
    ((2, 3, 0), "index"),
    ((2, 3, 0), "probs"),
]


def _target(shape, kind):
    if kind == "probs":
        return np.zeros(shape, np.float32)
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    return np.full(target_shape, IGNORED if kind == "ignored" else 0, np.int64)


def _torch_answer(fn, x, target, kwargs):
    xt = torch.tensor(x, requires_grad=True)
    try:
        loss = fn(xt, torch.tensor(target), **kwargs)
    except (IndexError, RuntimeError) as e:
        return e, None
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


def _check(torch_fn, cr_fn, shape, kind, kwargs):
    x, target = np.zeros(shape, np.float32), _target(shape, kind)
    expected, expected_grad = _torch_answer(torch_fn, x, target, kwargs)
    xc = cr.tensor(x, requires_grad=True)
    if isinstance(expected, Exception):
        with pytest.raises((IndexError, RuntimeError, cr.DataError), match="0 classes"):
            cr_fn(xc, cr.tensor(target), **kwargs)
        return
    loss = cr_fn(xc, cr.tensor(target), **kwargs)
    np.testing.assert_array_equal(loss.detach().numpy(), expected)  # NaN where PyTorch has NaN
    loss.sum().backward()
    assert xc.grad.shape == expected_grad.shape


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("shape", "kind"), CASES, ids=str)
def test_cross_entropy_without_classes_or_rows_answers_as_torch(shape, kind, reduction, smoothing):
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    _check(torch.nn.functional.cross_entropy, cr.nn.functional.cross_entropy, shape, kind, kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("shape", "kind"), [c for c in CASES if c[1] != "probs"], ids=str)
def test_nll_loss_without_classes_or_rows_answers_as_torch(shape, kind, reduction):
    kwargs = {"reduction": reduction}
    _check(torch.nn.functional.nll_loss, cr.nn.functional.nll_loss, shape, kind, kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("shape", "kind"), [((3, 0), "probs"), ((3, 0), "ignored")], ids=str)
def test_cross_entropy_loss_module_with_weights_and_no_classes(shape, kind, reduction):
    def module(cls, weight):
        return lambda x, t, **kw: cls(weight=weight, reduction=reduction)(x, t)

    torch_fn = module(torch.nn.CrossEntropyLoss, torch.zeros(0))
    _check(torch_fn, module(cr.nn.CrossEntropyLoss, cr.zeros(0)), shape, kind, {})
