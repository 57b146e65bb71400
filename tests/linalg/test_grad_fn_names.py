"""grad_fn.name() of every linalg function and of the added activations is PyTorch's: the same
call made on both libraries, the names of every differentiable output compared."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 3))
S = A @ A.T + 3 * np.eye(3)  # symmetric positive-definite
B = rng.normal(size=(3, 2))
V = rng.normal(size=3)
R = rng.normal(size=(4, 3))

CASES = {
    "inv": (lambda lib, a: lib.linalg.inv(a), S),
    "inv batched": (lambda lib, a: lib.linalg.inv(a), np.stack([S, S])),
    "inverse": (lambda lib, a: lib.inverse(a), S),
    "det": (lambda lib, a: lib.linalg.det(a), S),
    "Tensor.det": (lambda lib, a: a.det(), S),
    "slogdet": (lambda lib, a: tuple(lib.linalg.slogdet(a)), S),
    "logdet": (lambda lib, a: lib.logdet(a), S),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), S, B),
    "solve vector": (lambda lib, a, b: lib.linalg.solve(a, b), S, V),
    "solve left=False": (lambda lib, a, b: lib.linalg.solve(a, b, left=False), S, B.T.copy()),
    "solve_triangular": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
        np.triu(S),
        B,
    ),
    "solve_triangular left=False": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False),
        np.tril(S),
        B.T.copy(),
    ),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(a), S),
    "cholesky upper": (lambda lib, a: lib.linalg.cholesky(a, upper=True), S),
    "torch.cholesky": (lambda lib, a: lib.cholesky(a), S),
    "torch.cholesky upper": (lambda lib, a: lib.cholesky(a, upper=True), S),
    "Tensor.cholesky": (lambda lib, a: a.cholesky(), S),
    "qr": (lambda lib, a: tuple(lib.linalg.qr(a)), R),
    "qr complete": (lambda lib, a: tuple(lib.linalg.qr(a, mode="complete")), R),
    "qr r": (lambda lib, a: lib.linalg.qr(a, mode="r")[1], R),
    "torch.qr": (lambda lib, a: tuple(lib.qr(a)), R),
    "eigh": (lambda lib, a: tuple(lib.linalg.eigh(a)), S),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(a), S),
    "svd": (lambda lib, a: tuple(lib.linalg.svd(a, full_matrices=False)), R),
    "svd full": (lambda lib, a: tuple(lib.linalg.svd(a)), R),
    "torch.svd": (lambda lib, a: tuple(lib.svd(a)), R),
    "svdvals": (lambda lib, a: lib.linalg.svdvals(a), R),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), R),
    "pinv hermitian": (lambda lib, a: lib.linalg.pinv(a, hermitian=True), S),
    "pinverse": (lambda lib, a: lib.pinverse(a), R),
    "lstsq": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution, R, rng.normal(size=(4, 2))),
    "lstsq vector": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution, R, rng.normal(size=4)),
    "matrix_exp": (lambda lib, a: lib.linalg.matrix_exp(a), A),
    "torch.matrix_exp": (lambda lib, a: lib.matrix_exp(a), A),
    "matrix_power 3": (lambda lib, a: lib.linalg.matrix_power(a, 3), A),
    "matrix_power -2": (lambda lib, a: lib.linalg.matrix_power(a, -2), S),
    "matrix_norm fro": (lambda lib, a: lib.linalg.matrix_norm(a), A),
    "matrix_norm nuc": (lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), A),
    "matrix_norm 2": (lambda lib, a: lib.linalg.matrix_norm(a, 2), A),
    "matrix_norm 1": (lambda lib, a: lib.linalg.matrix_norm(a, 1), A),
    "matrix_norm -inf": (lambda lib, a: lib.linalg.matrix_norm(a, -math.inf), A),
    "matrix_norm inf keepdim": (
        lambda lib, a: lib.linalg.matrix_norm(a, math.inf, keepdim=True),
        A,
    ),
    "vector_norm": (lambda lib, a: lib.linalg.vector_norm(a), V),
    "vector_norm 3": (lambda lib, a: lib.linalg.vector_norm(a, 3), V),
    "norm": (lambda lib, a: lib.linalg.norm(a), A),
    "cond": (lambda lib, a: lib.linalg.cond(a), S),
    "cond -2": (lambda lib, a: lib.linalg.cond(a, -2), S),
    "cond 1": (lambda lib, a: lib.linalg.cond(a, 1), S),
    "cond nuc": (lambda lib, a: lib.linalg.cond(a, "nuc"), S),
    "cross": (lambda lib, a, b: lib.linalg.cross(a, b), A, A[::-1].copy()),
    "torch.cross": (lambda lib, a, b: lib.cross(a, b, dim=0), A, A[::-1].copy()),
    "diagonal": (lambda lib, a: lib.linalg.diagonal(a), A),
    "matmul": (lambda lib, a, b: lib.linalg.matmul(a, b), A, B),
    "multi_dot": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), A, B, B.T.copy()),
    "multi_dot vectors": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), V, A, V),
    "vecdot": (lambda lib, a, b: lib.linalg.vecdot(a, b), A, A[::-1].copy()),
    "vander": (lambda lib, a: lib.linalg.vander(a), V),
    "tensorinv": (lambda lib, a: lib.linalg.tensorinv(a, ind=1), rng.normal(size=(6, 2, 3))),
    "tensorsolve": (lambda lib, a, b: lib.linalg.tensorsolve(a, b), S, V),
    # the activations of nn/activation_extra.py
    "prelu": (lambda lib, a, w: lib.nn.functional.prelu(a, w), A, np.array([0.1, 0.2, 0.3])),
    "mish": (lambda lib, a: lib.nn.functional.mish(a), V),
    "hardswish": (lambda lib, a: lib.nn.functional.hardswish(a), V),
    "hardsigmoid": (lambda lib, a: lib.nn.functional.hardsigmoid(a), V),
    "softsign": (lambda lib, a: lib.nn.functional.softsign(a), V),
    "tanhshrink": (lambda lib, a: lib.nn.functional.tanhshrink(a), V),
    "threshold": (lambda lib, a: lib.nn.functional.threshold(a, 0.1, -1.0), V),
    "glu": (lambda lib, a: lib.nn.functional.glu(a, 0), rng.normal(size=(4, 3))),
    "softmin": (lambda lib, a: lib.nn.functional.softmin(a, -1), A),
    "GLU module": (lambda lib, a: lib.nn.GLU()(a), rng.normal(size=(3, 4))),
    "Tanhshrink module": (lambda lib, a: lib.nn.Tanhshrink()(a), V),
}


def _names(lib, call, arrays):
    if lib is torch:
        inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.cholesky, torch.qr: deprecated spellings
        out = call(lib, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    return [o.grad_fn.name() for o in outputs if o.grad_fn is not None], outputs


@pytest.mark.parametrize("case", CASES)
def test_grad_fn_name_is_torchs(case):
    call, *arrays = CASES[case]
    ours, outputs = _names(cr, call, arrays)
    theirs, expected = _names(torch, call, arrays)
    assert ours == theirs
    for o, e in zip(outputs, expected):  # (the renamed ops still compute the same values)
        np.testing.assert_allclose(
            np.abs(o.detach().numpy()), np.abs(e.detach().numpy()), rtol=1e-9, atol=1e-12
        )


# Left out: the decompositions' vectors have arbitrary signs; mode="r" has no gradient in
# PyTorch; PyTorch's cond(A, 1) backward fails on its own in-place nan_to_num_; and
# pinv(hermitian=True) differs from PyTorch's (chainrule's eigh gradient is symmetric: a known
# gap, not one of these renames).
_LEFT_OUT = ("qr", "eigh", "svd", "torch.svd", "torch.qr", "svd full", "qr complete", "qr r")
_LEFT_OUT += ("cond 1", "pinv hermitian")


@pytest.mark.parametrize("case", [c for c in CASES if c not in _LEFT_OUT])
def test_gradients_through_the_renamed_ops_are_torchs(case):
    call, *arrays = CASES[case]
    grads = []
    for lib in (cr, torch):
        if lib is torch:
            inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
        else:
            inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call(lib, *inputs)
        outputs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
        weights = [np.sin(np.arange(1.0, o.numel() + 1).reshape(o.shape)) for o in outputs]
        tensor = torch.tensor if lib is torch else lambda w: cr.tensor(w, dtype="float64")
        loss = sum((o * tensor(w)).sum() for o, w in zip(outputs, weights))
        loss.backward()
        grads.append([np.asarray(t.grad) for t in inputs])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
