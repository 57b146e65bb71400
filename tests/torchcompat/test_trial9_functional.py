"""Differential checks of ``chainrule.nn.functional`` against ``torch.nn.functional`` found by
a randomized sweep of their options (trial 9)."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
F, TF = cr.nn.functional, torch.nn.functional

RNG = np.random.default_rng(9)
X, Y = RNG.standard_normal((3, 4)), RNG.uniform(0.1, 0.9, (3, 4))
P = RNG.uniform(0.1, 0.9, (3, 4))
LOGP = np.log(P / P.sum(1, keepdims=True))
LABELS = np.array([0, 3, 1])

# (name, arrays) of every loss with PyTorch's deprecated size_average/reduce arguments
LEGACY = [
    ("mse_loss", (X, Y)),
    ("l1_loss", (X, Y)),
    ("smooth_l1_loss", (X, Y)),
    ("kl_div", (LOGP, Y)),
    ("binary_cross_entropy", (P, Y)),
    ("binary_cross_entropy_with_logits", (X, Y)),
    ("nll_loss", (LOGP, LABELS)),
    ("cross_entropy", (X, LABELS)),
]
FLAGS = [
    {"size_average": False},
    {"size_average": True},
    {"reduce": False},
    {"size_average": False, "reduce": True},
    {"size_average": True, "reduction": "sum"},  # the flags win over reduction, as in PyTorch
]


def _both(name, arrays, *args, **kwargs):
    t = [torch.tensor(a) for a in arrays]
    c = [cr.tensor(a, dtype=a.dtype) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(TF, name)(*t, *args, **kwargs)
    with pytest.warns(UserWarning, match="deprecated"):
        ours = getattr(F, name)(*c, *args, **kwargs)
    return ours, theirs


@pytest.mark.parametrize("name, arrays", LEGACY)
@pytest.mark.parametrize("flags", FLAGS)
def test_legacy_size_average_and_reduce_give_pytorchs_reduction(name, arrays, flags):
    ours, theirs = _both(name, arrays, **flags)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_legacy_flags_by_position_land_where_pytorch_puts_them():
    # nll_loss(input, target, weight, size_average, ignore_index, reduce): the fourth
    # positional argument is size_average, not ignore_index
    ours, theirs = _both("nll_loss", (LOGP, LABELS), None, False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    ours, theirs = _both("mse_loss", (X, Y), True, False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, arrays", LEGACY)
def test_reduction_string_in_the_size_average_slot_is_refused(name, arrays):
    # PyTorch reads F.mse_loss(x, y, "sum") as size_average="sum" (true) and returns the mean;
    # chainrule refuses the string there rather than answer differently
    c = [cr.tensor(a, dtype=a.dtype) for a in arrays]
    slot = 1 if name in ("binary_cross_entropy", "binary_cross_entropy_with_logits") else 0
    slot = 1 if name in ("nll_loss", "cross_entropy") else slot
    with pytest.raises(TypeError, match="reduction='sum' by keyword"):
        getattr(F, name)(*c, *([None] * slot), "sum")


def test_reduction_by_keyword_is_unchanged_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = F.mse_loss(cr.tensor(X, dtype=X.dtype), cr.tensor(Y, dtype=Y.dtype), reduction="sum")
    theirs = TF.mse_loss(torch.tensor(X), torch.tensor(Y), reduction="sum")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# the loss modules, with PyTorch's constructor positions
MODULES = [
    ("MSELoss", (X, Y), ()),
    ("L1Loss", (X, Y), ()),
    ("SmoothL1Loss", (X, Y), ()),
    ("KLDivLoss", (LOGP, Y), ()),
    ("BCELoss", (P, Y), (None,)),
    ("BCEWithLogitsLoss", (X, Y), (None,)),
    ("NLLLoss", (LOGP, LABELS), (None,)),
    ("CrossEntropyLoss", (X, LABELS), (None,)),
]


@pytest.mark.parametrize("name, arrays, before", MODULES)
@pytest.mark.parametrize("flags", FLAGS)
def test_loss_modules_take_legacy_flags_as_pytorch(name, arrays, before, flags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn, name)(*before, **flags)(*[torch.tensor(a) for a in arrays])
    with pytest.warns(UserWarning, match="deprecated"):
        module = getattr(cr.nn, name)(*before, **flags)
    ours = module(*[cr.tensor(a, dtype=a.dtype) for a in arrays])
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, arrays, before", MODULES)
def test_loss_module_reduction_string_by_position_is_refused(name, arrays, before):
    # torch.nn.MSELoss("sum") is size_average="sum" there: the mean
    with pytest.raises(TypeError, match="reduction='sum' by keyword"):
        getattr(cr.nn, name)(*before, "sum")


def test_nll_loss_module_fourth_position_is_reduce():
    # NLLLoss(weight, size_average, ignore_index, reduce): ignore_index is third
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.NLLLoss(None, None, 3, False)(torch.tensor(LOGP), torch.tensor(LABELS))
        ours = cr.nn.NLLLoss(None, None, 3, False)(cr.tensor(LOGP, dtype=LOGP.dtype), LABELS)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


KEYWORD_INPUT = [
    ("adaptive_avg_pool1d", (2, 4, 9), {"output_size": 4}),
    ("adaptive_avg_pool2d", (2, 4, 7, 6), {"output_size": (3, 4)}),
    ("avg_pool1d", (2, 4, 9), {"kernel_size": 3}),
    ("avg_pool2d", (2, 4, 7, 6), {"kernel_size": 2}),
    ("avg_pool3d", (1, 2, 4, 5, 6), {"kernel_size": 2}),
    ("max_pool1d", (2, 4, 9), {"kernel_size": 3}),
    ("max_pool2d", (2, 4, 7, 6), {"kernel_size": 2}),
    ("max_pool3d", (1, 2, 4, 5, 6), {"kernel_size": 2}),
    ("glu", (2, 4, 6), {"dim": 1}),
    ("sigmoid", (2, 4), {}),
    ("tanh", (2, 4), {}),
    ("softsign", (2, 4), {}),
    ("tanhshrink", (2, 4), {}),
    ("softmin", (2, 4), {"dim": 1}),
    ("gelu", (2, 4), {"approximate": "tanh"}),
    ("softplus", (2, 4), {"beta": 2.0}),
    ("logsigmoid", (2, 4), {}),
    ("prelu", (2, 4, 3), {"weight": (4,)}),
    ("conv1d", (2, 4, 9), {"weight": (3, 4, 2)}),
    ("conv2d", (2, 4, 7, 6), {"weight": (3, 4, 2, 2)}),
    ("conv3d", (1, 2, 4, 5, 6), {"weight": (3, 2, 2, 2, 2)}),
    ("conv_transpose1d", (2, 4, 9), {"weight": (4, 3, 2)}),
    ("conv_transpose2d", (2, 4, 7, 6), {"weight": (4, 3, 2, 2)}),
]


@pytest.mark.parametrize("name, shape, kwargs", KEYWORD_INPUT)
def test_input_by_keyword_as_pytorch(name, shape, kwargs):
    x = RNG.standard_normal(shape)
    arrays = {k: RNG.standard_normal(v) for k, v in kwargs.items() if k == "weight"}
    rest = {k: v for k, v in kwargs.items() if k != "weight"}
    theirs = getattr(TF, name)(
        input=torch.tensor(x), **{k: torch.tensor(v) for k, v in arrays.items()}, **rest
    )
    ours = getattr(F, name)(
        input=cr.tensor(x, dtype=x.dtype),
        **{k: cr.tensor(v, dtype=v.dtype) for k, v in arrays.items()},
        **rest,
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
