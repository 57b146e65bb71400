"""chainrule._gemm.product: dot for small products, matmul for large ones, the same bits."""

import importlib

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule import _gemm
from chainrule._blas import blas_threads, core_name


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
    # these tests follow NumPy's routes: the optional MKL route (an Intel CPU with the mkl
    # wheel, one BLAS thread) would take the large products before them
    monkeypatch.setattr(importlib.import_module("chainrule.ops.matmul"), "_MKL_ON", False)
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


def test_an_inner_dimension_of_one_keeps_dot(matmul_spy):
    """A batch of one's weight gradient, gᵀ · x, is an outer product: np.matmul runs its own
    loops there (225 against 29 µs for 256 × 1 · 1 × 784), so it stays with dot."""
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        g = rng.standard_normal((1, 256)).astype(dtype)
        x = rng.standard_normal((1, 784)).astype(dtype)
        np.testing.assert_array_equal(_gemm.product(g.T, x), np.outer(g, x))
    layer = cr.nn.Linear(784, 256)
    x = cr.tensor(rng.standard_normal((1, 784)).astype(np.float32))
    layer(x).sum().backward()
    assert matmul_spy.calls == 0
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.outer(np.ones(256), x.numpy()))


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


# ---- the swapped route: (Wᵀ)ᵀ products of a few rows as (W · xᵀ)ᵀ -------------------------
_KERNEL_SWAPS = core_name() in _gemm._SWAP_KERNELS  # the kernel the route is chosen for


@pytest.fixture
def swap_on(monkeypatch):
    monkeypatch.setattr(_gemm, "_SWAP", [True])


def _check_same(got, want):
    """Bit for bit on the kernel the route is chosen for (SkylakeX: measured the same bits);
    elsewhere (the route forced on) to float32's rounding."""
    assert got.flags.c_contiguous and got.dtype == want.dtype and got.shape == want.shape
    if _KERNEL_SWAPS:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def _random_products(rng, count, rows, inner, extra_columns):
    """Random (x, wᵀ, b) of a layer's forward: ``rows`` and ``inner`` as [low, high) bounds,
    at least twice as many columns as rows; checks product and product_plus against dot and
    returns how many the swap rule took."""
    swapped = 0
    for _ in range(count):
        m = int(rng.integers(*rows))
        k = int(rng.integers(*inner))
        n = int(rng.integers(2 * m, 2 * m + extra_columns))
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        swapped += _gemm._swap_wins(x, w.T)
        _check_same(_gemm.product(x, w.T), x.dot(w.T))
        _check_same(_gemm.product_plus(x, w.T, b), x.dot(w.T) + b)
    return swapped


@pytest.mark.parametrize("threads", [1, 2])
def test_swapped_products_give_the_plain_products_numbers(swap_on, threads):
    rng = np.random.default_rng(10 + threads)
    with threadpool_limits(threads):
        swapped = _random_products(rng, 60, rows=(2, 65), inner=(1, 1200), extra_columns=1500)
    assert swapped > 20  # the random shapes reached the swapped route


@pytest.mark.parametrize(
    "m, k, n, expected",
    [
        (8, 784, 256, True),  # a small batch through a wide layer: the case found
        (32, 784, 256, True),
        (64, 784, 256, True),
        (1, 784, 256, False),  # one row: a matrix-vector product either way
        (16, 64, 64, False),  # 1,024 outputs: too few
        (32, 64, 256, False),  # 32 rows need k ≥ 256
        (64, 256, 256, False),  # 64 rows need k ≥ 784
        (128, 784, 256, False),  # more than 64 rows at two threads (lost 5 %)
        (64, 784, 64, False),  # fewer than twice as many columns as rows
    ],
)
def test_the_swap_rule_follows_the_measured_grid(m, k, n, expected):
    x = np.ones((m, k), np.float32)
    w = np.ones((n, k), np.float32)
    with threadpool_limits(2):
        if blas_threads() != 2:
            pytest.skip("OpenBLAS does not run two threads here")
        assert _gemm._swap_wins(x, w.T) is expected


@pytest.mark.parametrize(
    "m, k, n, expected",
    [
        (128, 784, 256, True),  # case (c)'s first layer: 2.7-3.7 % of its step at one thread
        (65, 1024, 130, True),
        (96, 512, 256, False),  # above 64 rows k must be ≥ 784
        (128, 784, 200, False),  # fewer than twice as many columns as rows
        (129, 784, 512, False),  # above 128 rows: never
    ],
)
def test_up_to_128_rows_swap_only_at_one_thread(m, k, n, expected):
    x = np.ones((m, k), np.float32)
    w = np.ones((n, k), np.float32)
    with threadpool_limits(1):
        assert blas_threads() in (1, None)
        assert _gemm._swap_wins(x, w.T) is (expected and blas_threads() == 1)


def test_one_thread_swaps_give_the_plain_products_numbers(swap_on):
    rng = np.random.default_rng(12)
    with threadpool_limits(1):
        swapped = _random_products(rng, 12, rows=(65, 129), inner=(784, 1600), extra_columns=700)
        assert swapped == (12 if blas_threads() == 1 else 0)  # every shape is in the rule's band


def test_blas_threads_follows_threadpoolctls_limit():
    if blas_threads() is None:
        pytest.skip("NumPy's OpenBLAS was not found")
    with threadpool_limits(1):
        assert blas_threads() == 1


def test_the_swap_rule_takes_only_c_ordered_float32_operands():
    x = np.ones((8, 784), np.float32)
    w = np.ones((256, 784), np.float32)
    assert _gemm._swap_wins(x, w.T)
    assert not _gemm._swap_wins(x.astype(np.float64), w.T.astype(np.float64))  # measured slower
    assert not _gemm._swap_wins(np.asfortranarray(x), w.T)
    assert not _gemm._swap_wins(x, np.ascontiguousarray(w.T))  # a plain (k, n) matrix
    assert not _gemm._swap_wins(np.ones((2, 8, 784), np.float32), w.T)  # a stack: plain route


def test_a_bias_of_another_dtype_keeps_the_plain_route(swap_on):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 784)).astype(np.float32)
    w = rng.standard_normal((256, 784)).astype(np.float32)
    b = rng.standard_normal(256)  # float64: added in place, the result stays float32
    out = _gemm.product_plus(x, w.T, b)
    assert out.dtype == np.float32
    expected = x.dot(w.T)
    expected += b
    _check_same(out, expected)


def test_a_small_batch_through_a_linear_layer_takes_the_swapped_route(swap_on, matmul_spy):
    rng = np.random.default_rng(4)
    layer = cr.nn.Linear(784, 256)
    x = cr.tensor(rng.standard_normal((8, 784)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert matmul_spy.calls == 1
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    _check_same(out.detach().numpy(), x.detach().numpy().dot(w.T) + b)
    out.sum().backward()  # the gradients' products keep their own routes
    np.testing.assert_allclose(x.grad.numpy(), np.ones((8, 256), np.float32).dot(w), rtol=1e-5)


@pytest.mark.parametrize("setting, expected", [("0", False), ("1", True)])
def test_the_environment_turns_the_swap_off_or_on(monkeypatch, setting, expected):
    monkeypatch.setenv("CHAINRULE_GEMM_SWAP", setting)
    assert _gemm._decide_swap() is expected


def test_the_kernel_name_comes_from_numpys_openblas():
    from chainrule._blas import _numpy_openblas

    name = core_name()
    if _numpy_openblas() is None:
        assert name is None
    else:
        assert name and name == name.lower() and name.isascii()


def test_small_products_are_dot_after_one_test(swap_on, monkeypatch):
    # A tiny network's step makes its products through here: below both routes' thresholds
    # neither the swap rule nor a second call runs (each cost the (a)/(b) steps instructions).
    def refuse(*args):
        raise AssertionError("a small product went past the first test")

    monkeypatch.setattr(_gemm, "_swap_wins", refuse)
    monkeypatch.setattr(_gemm, "product", refuse)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 16)).astype(np.float32)  # 32 × 48 outputs: under 2,048
    w = rng.standard_normal((48, 16)).astype(np.float32)
    bias = rng.standard_normal(48).astype(np.float32)
    assert 32 * 48 < _gemm._SWAP_MIN_OUTPUTS
    np.testing.assert_array_equal(_gemm.product_plus(x, w.T, bias), x.dot(w.T) + bias)
    monkeypatch.undo()
    monkeypatch.setattr(_gemm, "_SWAP", [True])
    monkeypatch.setattr(_gemm, "_swap_wins", refuse)
    np.testing.assert_array_equal(_gemm.product(x, w.T), x.dot(w.T))


@pytest.mark.parametrize("batch", [1, 32])
def test_a_small_linear_layer_tests_its_sizes_once(monkeypatch, batch):
    # x (m, k) · Wᵀ (k, n) and both gradients under the thresholds: dot, without product's
    # call per product (three a layer in a step); the same numbers as the products themselves
    matmul = importlib.import_module("chainrule.ops.matmul")  # (chainrule.ops.matmul: the op)

    def refuse(*args):
        raise AssertionError("a small linear layer called the product router")

    monkeypatch.setattr(matmul, "product", refuse)
    monkeypatch.setattr(matmul, "product_plus", refuse)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    out = cr.functional.linear(xt, wt, bt)
    np.testing.assert_array_equal(out.numpy(force=True), x.dot(w.T) + b)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(cr.tensor(g))
    np.testing.assert_array_equal(xt.grad.numpy(), g.dot(w))
    np.testing.assert_array_equal(wt.grad.numpy(), g.T.dot(x))


def test_a_large_linear_layer_still_takes_the_router(monkeypatch):
    matmul = importlib.import_module("chainrule.ops.matmul")

    calls = []
    monkeypatch.setattr(matmul, "product", lambda a, b: calls.append(1) or _gemm.product(a, b))
    rng = np.random.default_rng(7)
    x = cr.tensor(rng.standard_normal((128, 64)).astype(np.float32), requires_grad=True)
    w = cr.tensor(rng.standard_normal((64, 64)).astype(np.float32), requires_grad=True)
    cr.functional.linear(x, w).sum().backward()
    assert len(calls) == 3  # the output and both gradients
