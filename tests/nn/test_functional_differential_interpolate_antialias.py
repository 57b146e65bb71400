"""F.interpolate(..., antialias=True) and mode='lanczos' against PyTorch: values and input
gradients in float64 (they raised NotImplementedError before)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import DTypeNotImplementedError

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def both(x, **kwargs):
    """(chainrule's output and input gradient, PyTorch's) for one weighted sum of the output."""
    ours = cr.tensor(x, dtype="float64", requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_t = TF.interpolate(theirs, **kwargs)
    out_c = F.interpolate(ours, **kwargs)
    weights = np.random.default_rng(1).standard_normal(out_t.shape)
    (out_t * torch.from_numpy(weights)).sum().backward()
    (out_c * cr.tensor(weights, dtype="float64")).sum().backward()
    ours_pair = (out_c.detach().numpy(), ours.grad.numpy())
    return ours_pair, (out_t.detach().numpy(), theirs.grad.numpy())


MODES = [("bilinear", False), ("bilinear", True), ("bicubic", False), ("bicubic", True)]
MODES += [("lanczos", None)]
SIZES = [(2, 3), (10, 3), (3, 12), (1, 2), (5, 2), (7, 4), (1, 9)]


@pytest.mark.parametrize("shape", [(1, 2, 5, 4), (2, 1, 17, 13), (1, 1, 2, 9)])
@pytest.mark.parametrize("mode, align_corners", MODES)
@pytest.mark.parametrize("size", SIZES)
def test_antialias_by_size_matches_torch(shape, mode, align_corners, size):
    x = np.random.default_rng(0).standard_normal(shape)
    kwargs = dict(size=size, mode=mode, align_corners=align_corners, antialias=True)
    (out, grad), (out_t, grad_t) = both(x, **kwargs)
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, align_corners", MODES)
@pytest.mark.parametrize("scale_factor", [0.4, 0.33, 2.0, (0.7, 1.3)])
@pytest.mark.parametrize("recompute_scale_factor", [None, True])
def test_antialias_by_scale_factor_matches_torch(
    mode, align_corners, scale_factor, recompute_scale_factor
):
    x = np.random.default_rng(2).standard_normal((2, 3, 11, 8))
    kwargs = dict(scale_factor=scale_factor, mode=mode, align_corners=align_corners)
    kwargs.update(antialias=True, recompute_scale_factor=recompute_scale_factor)
    (out, grad), (out_t, grad_t) = both(x, **kwargs)
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_antialias_float32_and_non_finite_values(mode):
    x = np.random.default_rng(3).standard_normal((1, 3, 20, 16)).astype(np.float32)
    x[0, 0, 0, 0] = np.inf
    ours = F.interpolate(cr.tensor(x), size=(7, 5), mode=mode, antialias=True)
    theirs = TF.interpolate(torch.from_numpy(x), size=(7, 5), mode=mode, antialias=True)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_a_width_of_one_is_resized_like_its_transpose():
    # PyTorch 2.13's CPU kernel copies the first row into every row when the output is one
    # pixel wide (it gives [1, 1] here); chainrule resizes it as the transposed image
    x = np.arange(5.0).reshape(1, 1, 5, 1)
    tall = F.interpolate(cr.tensor(x), size=(2, 1), mode="bilinear", antialias=True)
    wide = TF.interpolate(torch.tensor(x).mT, size=(1, 2), mode="bilinear", antialias=True)
    np.testing.assert_allclose(tall.numpy().ravel(), wide.numpy().ravel())
    np.testing.assert_allclose(tall.numpy().ravel(), [1.0, 3.0])


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 1, 4, 4), dict(size=2, mode="lanczos")),  # lanczos needs antialias
        ((1, 1, 4), dict(size=2, mode="lanczos", antialias=True)),  # 4-D only
        ((1, 1, 4), dict(size=2, mode="linear", antialias=True)),
        ((1, 1, 4, 4), dict(size=2, mode="nearest", antialias=True)),
    ],
)
def test_antialias_errors_as_torch(shape, kwargs):
    with pytest.raises(ValueError):
        TF.interpolate(torch.zeros(shape), **kwargs)
    with pytest.raises(ValueError):
        F.interpolate(cr.zeros(*shape), **kwargs)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [False, True])
def test_uint8_images_are_refused_without_claiming_torch_refuses_them(mode, antialias):
    x = np.zeros((1, 3, 6, 5), np.uint8)
    assert TF.interpolate(torch.from_numpy(x), size=3, mode=mode, antialias=antialias).dtype == (
        torch.uint8
    )  # PyTorch computes it (in 8-bit fixed point); the message said "as in PyTorch"
    with pytest.raises(DTypeNotImplementedError, match="fixed point.*x.float()"):
        F.interpolate(cr.tensor(x), size=3, mode=mode, antialias=antialias)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_a_dimension_that_keeps_its_size_is_copied_whatever_the_scale(mode):
    # scale_factor 1.1 keeps 5 rows: PyTorch's forward copies them (and so does chainrule's),
    # but PyTorch 2.13's backward differentiates the 1/1.1 filter it did not apply; chainrule's
    # gradient is its forward's
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 6))
    kwargs = dict(scale_factor=(1.1, 0.5), mode=mode, antialias=True)
    (out, grad), (out_t, grad_t) = both(x, **kwargs)
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    (_, grad_rows), _ = both(x, size=(5, 3), mode=mode, antialias=True)
    np.testing.assert_allclose(grad, grad_rows, rtol=1e-12, atol=1e-12)
    assert not np.allclose(grad, grad_t)


@pytest.mark.parametrize("align_corners", ["yes", 1, np.True_])
def test_align_corners_must_be_a_bool_as_torch(align_corners):
    kwargs = dict(size=3, mode="bilinear", align_corners=align_corners)
    with pytest.raises(TypeError):
        TF.interpolate(torch.ones(1, 1, 4, 4), **kwargs)
    with pytest.raises(TypeError, match="align_corners must be a bool"):  # read as True
        F.interpolate(cr.ones(1, 1, 4, 4), **kwargs)
