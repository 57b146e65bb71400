"""PyTorch's names on chainrule, checked against PyTorch: install_as_torch, creation
functions, dtype aliases and device, Tensor methods, custom autograd Functions, nn.utils and
torch.utils.data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
SRC = str(Path(__file__).parent.parent.parent / "src")


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


# ---- install_as_torch ---------------------------------------------------------------------
def test_install_as_torch_aliases_every_submodule_and_uninstalls():
    proc = run_python(
        "import sys, chainrule\n"
        "assert 'torch' not in sys.modules  # importing chainrule installs nothing\n"
        "chainrule.install_as_torch()\n"
        "import torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim\n"
        "import torch.utils.data, torch.autograd, torch.nn.init, torch.nn.utils\n"
        "from torch.utils.data import DataLoader, TensorDataset, random_split\n"
        "from torch.optim.lr_scheduler import StepLR\n"
        "assert torch is chainrule and nn is chainrule.nn and F is chainrule.nn.functional\n"
        "assert torch.utils.data.DataLoader is DataLoader is chainrule.utils.data.DataLoader\n"
        "assert torch.autograd.Function is chainrule.autograd.Function\n"
        "chainrule.uninstall_torch()\n"
        "assert 'torch' not in sys.modules and 'torch.nn' not in sys.modules\n"
        "print('fine')\n"
    )
    assert proc.returncode == 0 and "fine" in proc.stdout, proc.stderr


def test_install_as_torch_refuses_when_real_torch_is_loaded():
    proc = run_python("import torch, chainrule\nchainrule.install_as_torch()")
    assert proc.returncode != 0 and "already imported" in proc.stderr


# ---- creation, dtypes, device -------------------------------------------------------------
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: cr.linspace(-3, 3, 7), lambda: torch.linspace(-3, 3, 7)),
        (lambda: cr.logspace(0, 2, 5), lambda: torch.logspace(0, 2, 5)),
        (lambda: cr.logspace(0, 3, 4, base=2), lambda: torch.logspace(0, 3, 4, base=2)),
        (lambda: cr.full((2, 3), 1.5), lambda: torch.full((2, 3), 1.5)),
        (lambda: cr.full((2,), 7), lambda: torch.full((2,), 7)),
        (lambda: cr.full((2,), True), lambda: torch.full((2,), True)),
        (lambda: cr.full((), 0.0), lambda: torch.full((), 0.0)),
        (
            lambda: cr.full_like(cr.zeros(2, dtype=cr.long), 3),
            lambda: torch.full_like(torch.zeros(2, dtype=torch.long), 3),
        ),
        (lambda: cr.zeros_like(cr.ones(3)), lambda: torch.zeros_like(torch.ones(3))),
        (
            lambda: cr.ones_like(cr.ones(3), dtype=cr.double),
            lambda: torch.ones_like(torch.ones(3), dtype=torch.double),
        ),
        (lambda: cr.eye(3, 2), lambda: torch.eye(3, 2)),
        (lambda: cr.arange(5), lambda: torch.arange(5)),
        (lambda: cr.zeros(2, dtype=cr.int32), lambda: torch.zeros(2, dtype=torch.int32)),
        (
            lambda: cr.tensor([1, 2], dtype=cr.float),
            lambda: torch.tensor([1, 2], dtype=torch.float),
        ),
        (lambda: cr.tensor([0, 1], dtype=cr.bool), lambda: torch.tensor([0, 1], dtype=torch.bool)),
    ],
)
def test_creation_matches_torch(ours, theirs):
    a, b = ours(), theirs()
    assert a.shape == tuple(b.shape)
    assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_random_creation_shapes_dtypes_and_seeding():
    cr.manual_seed(3)
    first = [cr.randint(0, 10, (50,)), cr.randperm(20), cr.normal(2.0, 0.5, size=(4000,))]
    cr.manual_seed(3)
    again = [cr.randint(0, 10, (50,)), cr.randperm(20), cr.normal(2.0, 0.5, size=(4000,))]
    for a, b in zip(first, again):
        assert a.tolist() == b.tolist()
    ints, perm, normal = first
    assert ints.dtype == np.int64 and 0 <= ints.numpy().min() and ints.numpy().max() < 10
    assert cr.randint(5, (3,)).numpy().max() < 5  # randint(high, size)
    assert sorted(perm.tolist()) == list(range(20)) and perm.dtype == np.int64
    assert abs(normal.numpy().mean() - 2.0) < 0.05 and abs(normal.numpy().std() - 0.5) < 0.05
    means = cr.normal(cr.tensor([0.0, 100.0]), 1e-3)
    assert means.shape == (2,) and abs(means.numpy()[1] - 100) < 0.1
    like = cr.randn_like(cr.zeros(3, 2, dtype=cr.double))
    assert like.shape == (3, 2) and like.dtype == np.float64
    assert cr.rand_like(cr.zeros(5)).numpy().max() < 1.0
    with pytest.raises(ValueError):
        cr.normal(0.0, -1.0, size=(2,))


def test_from_numpy_shares_memory_and_keeps_dtype_as_torch():
    array = np.zeros(3)
    ours, theirs = cr.from_numpy(array), torch.from_numpy(array)
    array[1] = 4.0
    assert ours.tolist() == theirs.tolist() == [0.0, 4.0, 0.0]
    assert ours.dtype == np.float64 and theirs.dtype == torch.float64
    assert cr.numel(cr.zeros(2, 3)) == torch.numel(torch.zeros(2, 3)) == 6
    with pytest.raises(TypeError):
        cr.from_numpy([1.0, 2.0])


def test_dtype_aliases_name_torch_dtypes():
    for name in ("float", "double", "long", "int", "int64", "int32", "bool", "float32", "half"):
        assert str(getattr(torch, name)) == f"torch.{getattr(cr, name)}", name


def test_device_cpu_accepted_and_gpu_refused():
    assert str(cr.device("cpu")) == str(torch.device("cpu")) == "cpu"
    assert repr(cr.device("cpu")) == repr(torch.device("cpu"))
    assert cr.device("cpu") == "cpu" and cr.zeros(2, device="cpu").shape == (2,)
    assert cr.tensor([1.0], device=cr.device("cpu")).device == cr.device("cpu")
    assert not cr.cuda.is_available()
    for call in (
        lambda: cr.device("cuda"),
        lambda: cr.zeros(2, device="cuda:0"),
        lambda: cr.ones(1).to("cuda"),
        lambda: cr.ones(1).cuda(),
        lambda: cr.cuda.synchronize(),
    ):
        with pytest.raises(NotImplementedError, match="CPU"):
            call()
    assert not hasattr(cr.cuda, "memory_allocated")  # an AttributeError too


# ---- Tensor methods -------------------------------------------------------------------------
def both(values, **kw):
    values = np.asarray(values)
    return cr.tensor(values, **kw), torch.tensor(values, **kw)


@pytest.mark.parametrize(
    "method",
    [
        lambda t: t.long(),
        lambda t: t.int(),
        lambda t: t.bool(),
        lambda t: t.double(),
        lambda t: t.float(),
        lambda t: t.t(),
        lambda t: t.neg(),
        lambda t: t.add(2.0),
        lambda t: t.add(t, alpha=3),
        lambda t: t.sub(t * 2, alpha=0.5),
        lambda t: t.mul(t),
        lambda t: t.div(0.7, rounding_mode="floor"),
        lambda t: t.div(0.7, rounding_mode="trunc"),
        lambda t: t.div(4.0),
        lambda t: t.pow(2),
        lambda t: t.matmul(t.t()),
        lambda t: t.mm(t.t()),
        lambda t: t.square(),
        lambda t: t.to("cpu"),
        lambda t: t.to(torch.float64 if isinstance(t, torch.Tensor) else cr.float64),
        lambda t: t.to("cpu", torch.int64 if isinstance(t, torch.Tensor) else cr.int64),
        lambda t: t.type(torch.long if isinstance(t, torch.Tensor) else cr.long),
        lambda t: t.type("torch.DoubleTensor"),
        lambda t: ~(t > 0),
        lambda t: t.sin(),
        lambda t: t.cumsum(1),
        lambda t: t.prod(0),
        lambda t: t.masked_fill(t > 0, 0.0),
        lambda t: t.eq(t).logical_not(),
        lambda t: t.new_zeros(2, 1),
        lambda t: t.new_full((2,), 5.0),
    ],
)
def test_method_matches_torch(method):
    ours, theirs = both([[1.5, -2.25, 0.5], [-0.75, 3.0, -1.0]], dtype=None)
    ours, theirs = ours, theirs.float()
    a, b = method(ours), method(theirs)
    assert a.shape == tuple(b.shape)
    assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_type_names_format_and_identity_conversions():
    for dtype in ("float32", "float64", "int64", "int32", "bool"):
        ours = cr.zeros(1, dtype=dtype)
        theirs = torch.zeros(1, dtype=getattr(torch, dtype))
        assert ours.type() == theirs.type()
    x = cr.tensor([2.0])
    assert x.float() is x and x.to("cpu") is x and x.contiguous() is x
    assert x.to(x.dtype, copy=True) is not x
    loss, ref = cr.tensor(0.123456), torch.tensor(0.123456)
    assert f"{loss:.4f}" == f"{ref:.4f}" and format(loss, "f") == format(ref, "f")
    assert f"{loss}" == str(loss)
    with pytest.raises(TypeError):
        f"{cr.zeros(2):.3f}"
    with pytest.raises(TypeError):
        ~cr.zeros(2)
    assert (~cr.tensor([1, 2])).tolist() == (~torch.tensor([1, 2])).tolist()
    assert not x.is_cuda and x.device.type == "cpu" and x.is_floating_point()


def test_to_keeps_the_graph_like_torch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x.to(cr.float64) * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and x.grad.dtype == np.float32


# ---- torch.autograd.Function ------------------------------------------------------------------
def _legendre(lib):
    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            ctx.flags = ctx.needs_input_grad
            return scale * 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * ctx.scale * 1.5 * (5 * x**2 - 1), None

    return Legendre3


def test_custom_function_matches_torch():
    values = np.array([-0.8, 0.1, 0.6])
    ours = cr.tensor(values, dtype="float64", requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    out_ours = _legendre(cr).apply(ours * 2, 0.5)
    out_theirs = _legendre(torch).apply(theirs * 2, 0.5)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy())
    assert out_ours.grad_fn.ctx.flags == (True, False)  # needs_input_grad, before backward
    (out_ours * out_ours).sum().backward()
    (out_theirs * out_theirs).sum().backward()
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), rtol=1e-12)
    assert type(out_ours.grad_fn).__name__ == "Legendre3Backward"


def test_custom_function_new_style_and_errors():
    class Double(cr.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.seen = len(inputs)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = cr.tensor([1.0, 3.0], requires_grad=True)
    y = Double.apply(x)
    assert y.requires_grad and y.grad_fn.ctx.seen == 1
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with cr.no_grad():
        assert not Double.apply(x).requires_grad

    class TooMany(Double):
        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(cr.GraphError, match="returned 2 gradients for 1"):
        TooMany.apply(x).sum().backward()

    class Pair(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x * 2

        @staticmethod
        def backward(ctx, grad_a, grad_b):  # one gradient per output, as PyTorch
            return grad_a + 2 * grad_b

    a, b = Pair.apply(x)
    x.grad = None
    (a + b).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ---- nn.utils --------------------------------------------------------------------------------
def _grads(lib, values):
    params = []
    for v in values:
        p = lib.tensor(np.asarray(v, dtype=np.float32), requires_grad=True)
        (p * p * 3).sum().backward()
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, 0.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    values = [[1.0, -2.0, 0.5], [[3.0, 0.25]]]
    ours, theirs = _grads(cr, values), _grads(torch, values)
    n1 = cr.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert abs(float(n1) - float(n2)) < 1e-4 * float(n2)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-5)


def test_clip_grad_value_and_vectors_match_torch():
    values = [[1.0, -2.0, 0.5], [[3.0, 0.25]]]
    ours, theirs = _grads(cr, values), _grads(torch, values)
    cr.nn.utils.clip_grad_value_(ours, 2.0)
    torch.nn.utils.clip_grad_value_(theirs, 2.0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy())
    vec = cr.nn.utils.parameters_to_vector(ours)
    assert vec.tolist() == torch.nn.utils.parameters_to_vector(theirs).tolist()
    cr.nn.utils.vector_to_parameters(vec * 2, ours)
    assert ours[1].tolist() == [[6.0, 0.5]]
    with pytest.raises(cr.ShapeError):
        cr.nn.utils.vector_to_parameters(cr.zeros(4), ours)
    nan = _grads(cr, [[float("nan")]])
    with pytest.raises(cr.NonFiniteError):
        cr.nn.utils.clip_grad_norm_(nan, 1.0, error_if_nonfinite=True)


# ---- torch.utils.data --------------------------------------------------------------------------
def test_dataloader_collate_fn_workers_and_drop_last():
    from chainrule.utils import data

    ds = data.TensorDataset(np.arange(10.0), np.arange(10))
    plain = [(x.tolist(), y.tolist()) for x, y in data.DataLoader(ds, batch_size=4)]
    threaded = [
        (x.tolist(), y.tolist()) for x, y in data.DataLoader(ds, batch_size=4, num_workers=3)
    ]
    assert plain == threaded and len(plain) == 3
    dropped = list(data.DataLoader(ds, batch_size=4, drop_last=True, num_workers=2))
    assert [len(x) for x, _ in dropped] == [4, 4]
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(float(x) for x, _ in samples)

    sums = list(data.DataLoader(ds, batch_size=5, collate_fn=collate))
    assert sums == [10.0, 35.0] and seen == [5, 5]
    singles = list(data.DataLoader(ds, batch_size=None))
    assert len(singles) == 10 and singles[3][0].item() == 3.0
    cr.manual_seed(0)
    shuffled = [y.tolist() for _, y in data.DataLoader(ds, batch_size=5, shuffle=True)]
    assert sorted(shuffled[0] + shuffled[1]) == list(range(10))


def test_default_collate_matches_torch():
    from torch.utils.data import default_collate as torch_collate

    from chainrule.utils.data import default_collate

    samples = [(np.array([1.0, 2.0]), 3, 0.5), (np.array([4.0, 5.0]), 6, 1.5)]
    ours, theirs = default_collate(samples), torch_collate(samples)
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist() and str(a.dtype) == str(b.dtype).removeprefix("torch.")


@pytest.mark.parametrize("lengths", [[7, 3], [0.5, 0.5], [0.34, 0.33, 0.33], [0.7, 0.2, 0.1]])
def test_random_split_lengths_match_torch(lengths):
    from torch.utils.data import random_split as torch_split

    from chainrule.utils.data import TensorDataset, random_split

    ours = random_split(TensorDataset(np.arange(10)), lengths)
    theirs = torch_split(range(10), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    everything = sorted(int(i) for s in ours for i in s.indices)
    assert everything == list(range(10))
    with pytest.raises(cr.DataError):
        random_split(TensorDataset(np.arange(10)), [5, 4])


# ---- small aliases ------------------------------------------------------------------------------
def test_functional_dropout_follows_torch_semantics():
    x = cr.ones(20000)
    cr.manual_seed(0)
    y = cr.nn.functional.dropout(x, 0.25).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled, as torch
    assert cr.nn.functional.dropout(x, 0.25, training=False) is x
    with pytest.raises(ValueError):
        cr.nn.functional.dropout(x, 1.5)


def test_aliases_mm_inference_mode_is_tensor():
    a, b = cr.tensor(np.eye(2, dtype=np.float32)), cr.tensor([[1.0], [2.0]])
    assert cr.mm(a, b).tolist() == torch.mm(torch.eye(2), torch.tensor([[1.0], [2.0]])).tolist()
    w = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (w * 2).requires_grad
    assert cr.is_tensor(w) and not cr.is_tensor(np.zeros(2))


def test_index_and_backend_stubs_match_torch():
    classes = ["a", "b", "c"]
    for lib in (cr, torch):
        assert classes[lib.tensor([0.1, 0.9, 0.2]).argmax(0)] == "b"
        assert list(range(lib.tensor(3))) == [0, 1, 2]
        with pytest.raises(TypeError):
            classes[lib.tensor([1, 2])]
        with pytest.raises(TypeError):
            classes[lib.tensor(1.0)]
    assert not cr.accelerator.is_available() and not cr.backends.mps.is_available()
    cr.backends.cudnn.deterministic = True  # accepted, as seeding code sets it
    assert cr.backends.cudnn.deterministic


def test_samplers_and_batch_sampler_like_torch():
    from torch.utils import data as tdata

    from chainrule.utils import data

    values = np.arange(10.0, dtype=np.float32)
    ours_ds, theirs_ds = data.TensorDataset(values), tdata.TensorDataset(torch.from_numpy(values))
    seq = [
        b[0].tolist() for b in data.DataLoader(ours_ds, 4, sampler=data.SequentialSampler(ours_ds))
    ]
    ref = [
        b[0].tolist()
        for b in tdata.DataLoader(theirs_ds, 4, sampler=tdata.SequentialSampler(theirs_ds))
    ]
    assert seq == ref
    batches = [[0, 3], [9], [5, 1, 2]]
    ours = [b[0].tolist() for b in data.DataLoader(ours_ds, batch_sampler=batches)]
    theirs = [b[0].tolist() for b in tdata.DataLoader(theirs_ds, batch_sampler=batches)]
    assert ours == theirs
    subset = data.SubsetRandomSampler([1, 4, 7])
    loader = data.DataLoader(ours_ds, batch_size=2, sampler=subset, drop_last=True)
    got = [b[0].tolist() for b in loader]
    assert len(got) == len(loader) == 1 and set(got[0]) <= {1.0, 4.0, 7.0}
    assert sorted(data.RandomSampler(ours_ds)) == list(range(10))
    draws = list(data.RandomSampler(ours_ds, replacement=True, num_samples=50))
    assert len(draws) == 50 and max(draws) < 10
    bs = data.BatchSampler(data.SequentialSampler(range(5)), 2, drop_last=True)
    assert list(bs) == list(tdata.BatchSampler(tdata.SequentialSampler(range(5)), 2, True))
    assert len(bs) == 2
    with pytest.raises(ValueError):
        data.DataLoader(ours_ds, shuffle=True, sampler=subset)
    with pytest.raises(ValueError):
        data.DataLoader(ours_ds, batch_size=3, batch_sampler=batches)


@pytest.mark.parametrize(
    "mode",
    [
        "floor",
        "trunc",
        None,
    ],
)
def test_integer_div_rounding_matches_torch(mode):
    a, b = np.array([7, -7, 6]), np.array([2, 2, -4])
    ours = cr.tensor(a).div(cr.tensor(b), rounding_mode=mode)
    theirs = torch.tensor(a).div(torch.tensor(b), rounding_mode=mode)
    assert ours.tolist() == theirs.tolist()
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
