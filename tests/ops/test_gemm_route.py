"""chainrule._gemm.product: dot for small products, matmul for large ones, the same bits."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule import _gemm


def _operands(rng, m, k, n, dtype, a_transposed, b_transposed):
    a = rng.standard_normal((k, m) if a_transposed else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if b_transposed else (k, n)).astype(dtype)
    return (a.T if a_transposed else a), (b.T if b_transposed else b)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_gives_dots_bits_on_random_shapes(threads, dtype):
    rng = np.random.default_rng(threads)
    with threadpool_limits(threads):
        for _ in range(40):
            m, k, n = (int(v) for v in rng.integers(1, 260, 3))
            if rng.random() < 0.25:
                m = int(rng.integers(1, 4))  # the vector-like shapes BLAS treats apart
            for a_t in (False, True):
                for b_t in (False, True):
                    a, b = _operands(rng, m, k, n, dtype, a_t, b_t)
                    out = _gemm.product(a, b)
                    assert out.dtype == np.dtype(dtype) and out.shape == (m, n)
                    np.testing.assert_array_equal(out, a.dot(b))


class _Spy:
    def __init__(self):
        self.calls = 0

    def __call__(self, a, b):
        self.calls += 1
        return np.matmul(a, b)


@pytest.fixture
def matmul_spy(monkeypatch):
    spy = _Spy()
    monkeypatch.setattr(_gemm, "_matmul", spy)
    return spy


def test_large_products_skip_dots_zero_fill(matmul_spy):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64)).astype(np.float32)
    w = rng.standard_normal((128, 64)).astype(np.float32)
    np.testing.assert_array_equal(_gemm.product(x, w.T), x.dot(w.T))
    assert matmul_spy.calls == 1


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones((8, 4), np.float32), np.ones((4, 8), np.float32)),  # small: dot's call is cheaper
        (np.ones((128, 4), np.float16), np.ones((4, 128), np.float16)),  # no BLAS for float16
        (np.ones((128, 4), np.int64), np.ones((4, 128), np.int64)),
        (np.ones((128, 4), np.float32), np.ones((4, 128), np.float64)),  # mixed dtypes
        (np.ones((256, 4), np.float32)[::2], np.ones((4, 128), np.float32)),  # strided rows
    ],
)
def test_other_products_keep_dot(matmul_spy, a, b):
    np.testing.assert_array_equal(_gemm.product(a, b), a.dot(b))
    assert matmul_spy.calls == 0


def test_a_linear_layers_products_take_the_matmul_route(matmul_spy):
    """The forward product and both gradients of a 128-row batch through a 64 → 128 layer."""
    rng = np.random.default_rng(1)
    layer = cr.nn.Linear(64, 128)
    x = cr.tensor(rng.standard_normal((128, 64)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert matmul_spy.calls == 1
    (out * out).sum().backward()
    assert matmul_spy.calls == 3  # grad · W and gradᵀ · x
    expected = x.detach().numpy().dot(layer.weight.detach().numpy().T) + layer.bias.detach().numpy()
    np.testing.assert_array_equal(out.detach().numpy(), expected)
