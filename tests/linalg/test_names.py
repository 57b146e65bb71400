"""cr.linalg's surface: every torch.linalg name is there or raises NotSupportedError, the
torch-level aliases and Tensor methods agree with PyTorch's, ``import torch.linalg`` works
under install_as_torch, and the docstring examples run."""

import doctest
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from linalg_check import check, spd

import chainrule as cr

torch = pytest.importorskip("torch")

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.parametrize(
    "name",
    ["norms", "inverse", "decompositions", "spectral", "products", "legacy", "lstsq", "matrix_exp"],
)
def test_docstring_examples(name):
    module = importlib.import_module(f"chainrule.ops.linalg.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_every_torch_linalg_name_is_there_or_not_supported():
    have, missing = [], []
    for name in (n for n in dir(torch.linalg) if not n.startswith("_")):
        if name == "common_notes":  # a dict of docstring fragments, not an API
            continue
        try:
            getattr(cr.linalg, name)
            have.append(name)
        except cr.NotSupportedError as err:
            assert f"torch.linalg.{name} is not supported by chainrule; nearest:" in str(err)
            assert not hasattr(cr.linalg, name)
            missing.append(name)
    assert {"inv", "det", "solve", "svd", "eigh", "qr", "cholesky", "norm", "pinv"} <= set(have)
    assert {"solve_triangular", "cond", "matrix_rank", "multi_dot", "vecdot", "lstsq"} <= set(have)
    assert "eig" in missing
    from chainrule.linalg import _NOT_YET

    assert not set(_NOT_YET) & set(vars(cr.linalg)), "a hint left for a name chainrule now has"
    assert set(_NOT_YET) <= set(dir(torch.linalg)), "a hint for a name PyTorch does not have"
    with pytest.raises(AttributeError):
        cr.linalg.no_such_thing  # noqa: B018


def test_linalg_error_is_a_runtime_error_at_both_addresses():
    assert cr.LinAlgError is cr.linalg.LinAlgError
    assert issubclass(cr.LinAlgError, RuntimeError) and issubclass(
        cr.LinAlgError, cr.ChainruleError
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, a: a.det(),
        lambda lib, a: a.logdet(),
        lambda lib, a: a.slogdet()[1],
        lambda lib, a: a.inverse(),
        lambda lib, a: a.pinverse(),
        lambda lib, a: a.cholesky(),
        lambda lib, a: a.matrix_power(3),
        lambda lib, a: lib.slogdet(a)[1],
        lambda lib, a: lib.matrix_power(a, -2),
        lambda lib, a: lib.pinverse(a, 1e-10),
        lambda lib, a: lib.linalg.matrix_norm(a, "nuc"),
    ],
)
def test_aliases_and_tensor_methods_match_torch(call):
    a = spd(np.random.default_rng(0), (2, 3, 3)) / 3
    mine = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    ref = torch.tensor(a, requires_grad=True)
    out, expected = call(cr, mine), call(torch, ref)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_import_torch_linalg_under_install_as_torch():
    code = (
        "import chainrule; chainrule.install_as_torch()\n"
        "import torch.linalg\n"
        "from torch.linalg import inv\n"
        "assert torch.linalg is chainrule.linalg and inv is chainrule.linalg.inv\n"
        "print(torch.linalg.det(torch.eye(2)).item())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.0"


@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_old_svd_and_qr_spellings_match_torch(shape, some):
    a = np.random.default_rng(1).standard_normal(shape)

    def svd_loss(lib, t):  # U's column signs and V's flip together: a sign-free loss
        u, s, v = t.svd(some=some) if lib is torch else lib.svd(t, some=some)
        k = s.shape[-1]
        return (u[..., :k] * s.unsqueeze(-2)) @ v[..., :k].mT + s.sum(-1, keepdim=True).unsqueeze(
            -1
        )

    check(lambda t: svd_loss(cr, t), lambda t: svd_loss(torch, t), [a], "float64")
    mine, theirs = (
        cr.svd(cr.tensor(a, dtype=cr.float64), some=some),
        torch.svd(torch.tensor(a), some=some),
    )
    assert [x.shape for x in mine] == [tuple(x.shape) for x in theirs]
    u, s, v = cr.svd(cr.tensor(a, dtype=cr.float64), compute_uv=False)
    tu, ts, tv = torch.svd(torch.tensor(a), compute_uv=False)
    assert (u.shape, v.shape) == (tuple(tu.shape), tuple(tv.shape)) and not u.numpy().any()
    np.testing.assert_allclose(s.numpy(), ts.numpy(), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.qr is deprecated
        check(
            lambda t: cr.qr(t, some=some).R,
            lambda t: torch.qr(t, some=some).R,
            [a],
            "float64",
            gradcheck=False,
            grad=some or shape[-2] <= shape[-1],  # else neither is differentiable
        )
        q, r = cr.tensor(a, dtype=cr.float64).qr(some=some)
        tq, tr = torch.tensor(a).qr(some=some)
        np.testing.assert_allclose(q.numpy(), tq.numpy(), atol=1e-12)
