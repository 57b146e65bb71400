"""Parity probe, round 7: negative slice steps, ``numpy()`` of a tensor that requires grad,
matrix products of mixed dtypes, ``to("float64")`` and BCE-with-logits at an infinite logit,
each checked against PyTorch itself."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _kind(fn):
    """The value as a list with its dtype's name, or the builtin class of the error raised
    (the one a PyTorch script's ``except`` names)."""
    try:
        result = fn()
    except NotImplementedError:  # before RuntimeError: it is one
        return "NotImplementedError"
    except RuntimeError:
        return "RuntimeError"
    except ValueError:
        return "ValueError"
    except TypeError:
        return "TypeError"
    return result.tolist(), str(result.dtype).replace("torch.", "")


# ---- x[::-1] -------------------------------------------------------------------------------------
def _slicings(lib):
    x = lib.arange(12).reshape(3, 4)

    def assign(index):
        y = x.clone()
        y[index] = 0
        return y

    return {
        "x[::-1]": lambda: x[::-1],
        "x[:, ::-2]": lambda: x[:, ::-2],
        "x[[0, 1], ::-1]": lambda: x[[0, 1], ::-1],
        "x[..., 3:0:-1]": lambda: x[..., 3:0:-1],
        "x[::0]": lambda: x[::0],
        "x[::2]": lambda: x[::2],
        "x[2:0]": lambda: x[2:0],
        "x[::-1] = 0": lambda: assign(slice(None, None, -1)),
        "x[0, ::-1] = 0": lambda: assign((0, slice(None, None, -1))),
    }


def test_negative_slice_steps_raise_as_in_pytorch():
    ours = {name: _kind(call) for name, call in _slicings(cr).items()}
    assert ours == {name: _kind(call) for name, call in _slicings(torch).items()}
    assert ours["x[::-1]"] == "ValueError"


def test_the_negative_step_error_names_flip():
    with pytest.raises(ValueError, match=r"step must be greater than zero.*x\.flip\(0\)"):
        cr.arange(3)[::-1]
    assert cr.arange(3).flip(0).tolist() == torch.arange(3).flip(0).tolist()


# ---- t.numpy() ----------------------------------------------------------------------------------
def _numpy_calls(lib):
    leaf = lib.tensor([1.0, 2.0], requires_grad=True)
    plain = lib.tensor([1.0, 2.0])

    def under_no_grad(t):
        with lib.no_grad():
            return t.numpy()

    return {
        "leaf": lambda: leaf.numpy(),
        "result": lambda: (leaf * 2).numpy(),
        "detached": lambda: leaf.detach().numpy(),
        "force": lambda: leaf.numpy(force=True),
        "no_grad": lambda: under_no_grad(leaf),
        "plain": lambda: plain.numpy(),
        "grad": lambda: leaf.grad,
    }


def _numpy_outcome(fn):
    try:
        value = fn()
    except RuntimeError as err:
        return "RuntimeError", str(err)
    return None if value is None else np.asarray(value).tolist()


def test_numpy_of_a_tensor_that_requires_grad_raises_as_in_pytorch():
    ours = {k: _numpy_outcome(c) for k, c in _numpy_calls(cr).items()}
    assert ours == {k: _numpy_outcome(c) for k, c in _numpy_calls(torch).items()}
    assert ours["leaf"][0] == "RuntimeError" and ours["no_grad"] == [1.0, 2.0]


def test_numpy_still_shares_memory():
    t = cr.tensor([1.0, 2.0])
    t.numpy()[0] = 5.0
    leaf = cr.tensor([1.0], requires_grad=True)
    leaf.detach().numpy()[0] = 3.0
    assert t.tolist() == [5.0, 2.0] and leaf.tolist() == [3.0]


def test_internal_callers_never_call_numpy_on_the_graph():
    """The ops that read an index, mask or condition tensor read its array: a mask that
    requires grad (a float tensor compared, say) must not trip ``numpy()``'s refusal."""
    x = cr.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    index = cr.tensor([1, 0])
    assert cr.index_select(x, 0, index).sum().item() == 6.0
    assert cr.where(x > 0)[0].tolist() == [0, 1, 1]
    assert cr.masked_fill(x, x < 0, 0.0).sum().item() == 8.0
    assert x.round().tolist() == [[1.0, -2.0], [3.0, 4.0]]


# ---- matrix products ----------------------------------------------------------------------------
def _products(lib):
    i, f = lib.tensor([[1, 2], [3, 4]]), lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    d, v, vi = f.double(), lib.tensor([1.0, 2.0]), lib.tensor([1, 2])
    return {
        "i @ f": lambda: i @ f,
        "f @ i": lambda: f @ i,
        "f @ d": lambda: f @ d,
        "i.int() @ i": lambda: i.int() @ i,
        "i @ i": lambda: i @ i,
        "f @ f": lambda: f @ f,
        "mm(i, f)": lambda: lib.mm(i, f),
        "matmul(f, i)": lambda: lib.matmul(f, i),
        "i.mm(f)": lambda: i.mm(f),
        "f.matmul(d)": lambda: f.matmul(d),
        "bmm": lambda: lib.bmm(i[None], f[None]),
        "i @ v": lambda: i @ v,
        "vi @ v": lambda: vi @ v,
        "v @ i": lambda: v @ i,
        "i[None] @ f": lambda: i[None] @ f,
        "bool @ bool": lambda: (i > 2) @ (i > 1),
        "einsum": lambda: lib.einsum("ij,jk->ik", i, f),
    }


def test_matrix_products_refuse_mixed_dtypes_as_in_pytorch():
    ours = {name: _kind(call) for name, call in _products(cr).items()}
    assert ours == {name: _kind(call) for name, call in _products(torch).items()}
    assert ours["i @ f"] == "RuntimeError" and ours["i @ i"][1] == "int64"


def test_the_mixed_dtype_error_names_both_dtypes_and_the_fix():
    with pytest.raises(cr.DTypeError, match=r"int64 != float32.*\.to\("):
        cr.tensor([[1, 2]]) @ cr.tensor([[1.0], [2.0]])


# ---- to("float64") -------------------------------------------------------------------------------
def _to_calls(lib):
    x = lib.tensor([1.0, 2.0])
    model = lib.nn.Linear(1, 1)
    return {
        'to("float64")': lambda: x.to("float64"),
        'to("torch.float64")': lambda: x.to("torch.float64"),
        "to(float64)": lambda: x.to(lib.float64),
        'to("cpu")': lambda: x.to("cpu"),
        'to("cpu:0")': lambda: x.to("cpu:0"),
        'to("CPU")': lambda: x.to("CPU"),
        'to("cpu", float64)': lambda: x.to("cpu", lib.float64),
        "to(long)": lambda: x.to(lib.long),
        "to(dtype=float64)": lambda: x.to(dtype=lib.float64),
        'Module.to("float64")': lambda: model.to("float64").weight,
        "Module.to(float64)": lambda: model.to(lib.float64).weight.detach(),
    }


def test_a_string_in_to_is_a_device_as_in_pytorch():
    ours = {name: _kind(call) for name, call in _to_calls(cr).items()}
    theirs = {name: _kind(call) for name, call in _to_calls(torch).items()}
    # values aside (Linear's random weights), each call converts or raises as PyTorch's does
    assert {k: v if isinstance(v, str) else v[1] for k, v in ours.items()} == {
        k: v if isinstance(v, str) else v[1] for k, v in theirs.items()
    }
    assert ours['to("float64")'] == "RuntimeError"


def test_the_device_string_error_suggests_the_dtype():
    with pytest.raises(RuntimeError, match=r"Invalid device string: 'float64'.*cr\.float64"):
        cr.ones(2).to("float64")


# ---- BCE with logits at ±∞ ----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize(
    "options", [{}, {"pos_weight": [2.0]}, {"weight": [0.5]}], ids=["plain", "pos", "weight"]
)
def test_bce_with_logits_at_infinite_logits_matches_pytorch(reduction, options):
    inf = math.inf
    for logits in ([-inf, 1.0], [inf, -2.0], [-inf], [-inf, inf, 0.5]):
        for target in (0.0, 0.5, 1.0):
            z = np.array(logits, np.float32)
            t = np.full_like(z, target)
            results = []
            for lib in (cr, torch):
                kw = {k: lib.tensor(v) for k, v in options.items()}
                zt = lib.tensor(z, requires_grad=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's inf − inf
                    loss = lib.nn.functional.binary_cross_entropy_with_logits(
                        zt, lib.tensor(t), reduction=reduction, **kw
                    )
                    loss.sum().backward()
                results.append((loss.detach().numpy(), zt.grad.numpy()))
            (loss, grad), (expected, expected_grad) = results
            np.testing.assert_allclose(loss, expected, rtol=1e-6, equal_nan=True)
            np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, equal_nan=True)


def test_bce_with_logits_of_a_0d_logit_at_minus_inf_is_nan_as_in_pytorch():
    for lib in (cr, torch):
        loss = lib.nn.functional.binary_cross_entropy_with_logits(
            lib.tensor(-math.inf), lib.tensor(1.0)
        )
        assert math.isnan(loss.item())


def test_the_compiled_bce_kernel_gives_pytorchs_value_at_infinite_logits():
    pytest.importorskip("numba")
    from chainrule.autograd.compile_kernels import bce_fwd

    for z in (-math.inf, math.inf, -3.0, 4.0):
        for target in (0.0, 0.5, 1.0):
            zz, tt = np.array([z], np.float32), np.array([target], np.float32)
            expected = torch.nn.functional.binary_cross_entropy_with_logits(
                torch.tensor(zz), torch.tensor(tt)
            ).item()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                got = bce_fwd(zz, tt)
            assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(
                expected, rel=1e-6
            ), (z, target)
