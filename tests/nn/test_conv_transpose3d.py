"""nn.ConvTranspose3d and F.conv_transpose3d against PyTorch: values and gradients over stride,
padding, output_padding, dilation and groups; float64 finite differences; the module's repr,
parameters and initialisation; save/load; ONNX export run by ONNX Runtime; errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
F = torch.nn.functional

TIGHT = dict(rtol=1e-10, atol=1e-11)

# (N, C_in, D, H, W), C_out, kernel, options
CASES = {
    "plain": ((2, 3, 4, 5, 5), 4, 3, {}),
    "stride": ((1, 2, 3, 4, 3), 3, 2, {"stride": 2}),
    "stride_padding_output_padding": (
        (2, 2, 3, 3, 3),
        2,
        3,
        {"stride": 2, "padding": 1, "output_padding": 1},
    ),
    "triples": (
        (1, 4, 3, 4, 5),
        6,
        (2, 3, 2),
        {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2), "groups": 2},
    ),
    "dilation": ((2, 2, 3, 3, 3), 2, 3, {"stride": 2, "padding": 1, "dilation": (2, 1, 2)}),
    "output_padding_below_dilation": (
        (1, 2, 3, 2, 2),
        2,
        2,
        {"dilation": 3, "output_padding": 2, "padding": (2, 0, 1)},
    ),
    "groups3_no_bias": ((1, 6, 2, 3, 3), 9, 2, {"stride": 3, "groups": 3, "bias": False}),
    "depth_only_kernel": (
        (1, 2, 5, 4, 4),
        4,
        (3, 1, 2),
        {"stride": (1, 2, 2), "padding": (2, 0, 1)},
    ),
    "unit": ((1, 2, 1, 1, 1), 2, 1, {}),
    "unbatched": ((3, 2, 4, 4), 2, 2, {"stride": 2}),
}


def _arrays(case, seed=0):
    shape, out_ch, kernel, options = CASES[case]
    rng = np.random.default_rng(seed)
    kernel = kernel if isinstance(kernel, tuple) else (kernel,) * 3
    groups = options.get("groups", 1)
    c_in = shape[1] if len(shape) == 5 else shape[0]
    x = rng.standard_normal(shape)
    w = rng.standard_normal((c_in, out_ch // groups, *kernel))
    b = rng.standard_normal(out_ch) if options.get("bias", True) else None
    kwargs = {k: v for k, v in options.items() if k != "bias"}
    return x, w, b, kwargs


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch(case):
    x, w, b, kwargs = _arrays(case)
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b) if a is not None]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    bias_ours, bias_theirs = (ours[2], theirs[2]) if b is not None else (None, None)
    out = cr.nn.functional.conv_transpose3d(ours[0], ours[1], bias_ours, **kwargs)
    expected = F.conv_transpose3d(theirs[0], theirs[1], bias_theirs, **kwargs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    (out * cr.tensor(upstream, dtype="float64")).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), **TIGHT)


@pytest.mark.parametrize("case", ["stride_padding_output_padding", "triples", "dilation"])
def test_finite_differences_in_float64(case):
    x, w, b, kwargs = _arrays(case, seed=3)
    x = x[:1, :, :2]  # small: central differences cost two forwards per number

    def fn(x, w, b):
        return cr.nn.functional.conv_transpose3d(x, w, b, **kwargs)

    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
    assert cr.gradcheck(fn, *inputs)


def test_module_matches_torch_repr_parameters_and_initial_distribution():
    options = dict(stride=(2, 1, 1), padding=(0, 1, 0), output_padding=(1, 0, 0), groups=2)
    ours = nn.ConvTranspose3d(4, 6, (2, 3, 1), **options)
    theirs = torch.nn.ConvTranspose3d(4, 6, (2, 3, 1), **options)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    # PyTorch's U(±1/√fan_in), fan_in = weight.shape[1]·kD·kH·kW for a transposed layer
    bound = 1 / np.sqrt(3 * 2 * 3 * 1)
    big = nn.ConvTranspose3d(64, 64, 3)
    weight = big.weight.detach().numpy()
    assert np.abs(weight).max() <= 1 / np.sqrt(64 * 27) and weight.std() > 0.5 / np.sqrt(
        3 * 64 * 27
    )
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    theirs.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in ours.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 4, 5)).astype(np.float32)
    with cr.no_grad():
        got = ours(cr.tensor(x)).numpy()
    np.testing.assert_allclose(
        got, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_save_and_load_round_trip(tmp_path):
    model = nn.Sequential(
        nn.ConvTranspose3d(2, 4, (2, 3, 3), stride=2, padding=(0, 1, 1), output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose3d(4, 2, 3, dilation=2, groups=2, bias=False),
    )
    path = tmp_path / "up.safetensors"
    cr.save(model, path)
    again = cr.load(path)
    assert repr(again) == repr(model)
    x = cr.randn(1, 2, 2, 3, 3)
    with cr.no_grad():
        np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_onnx_export_runs_in_onnxruntime():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    cr.manual_seed(0)
    options = dict(
        stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 1), dilation=(1, 2, 1)
    )
    m = nn.ConvTranspose3d(4, 6, (2, 3, 2), groups=2, **options).eval()
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 4, 5)).astype(np.float32)
    proto = cr.onnx.export(m, None, x)
    assert "ConvTranspose" in [n.op_type for n in proto.graph.node]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x3 = np.random.default_rng(1).standard_normal((3, 4, 3, 4, 5)).astype(np.float32)
    (got,) = session.run(None, {proto.graph.input[0].name: x3})
    with cr.no_grad():
        np.testing.assert_allclose(got, m(x3).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: nn.ConvTranspose3d(2, 2, 3, output_padding=1), ValueError, "ConvTranspose3d"),
        (lambda: nn.ConvTranspose3d(3, 4, 3, groups=2), ValueError, "groups"),
        (
            lambda: cr.nn.functional.conv_transpose3d(
                cr.ones(1, 3, 2, 2, 2), cr.ones(2, 1, 2, 2, 2)
            ),
            cr.ShapeError,
            "input channels",
        ),
        (
            lambda: cr.nn.functional.conv_transpose3d(cr.ones(1, 2, 2, 2), cr.ones(2, 1, 2, 2)),
            cr.ShapeError,
            "5-D weight",
        ),
        (
            lambda: cr.nn.functional.conv_transpose3d(
                cr.ones(1, 2, 2, 2, 2), cr.ones(2, 1, 2, 2, 2), output_padding=(1, 0, 0)
            ),
            cr.ShapeError,
            "output_padding",
        ),
        (
            lambda: cr.nn.functional.conv_transpose3d(
                cr.ones(1, 2, 1, 1, 1), cr.ones(2, 1, 1, 1, 1), padding=1
            ),
            cr.ShapeError,
            "no output",
        ),
    ],
)
def test_bad_arguments_get_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("name", ["conv3d", "conv_transpose3d"])
@pytest.mark.parametrize("batched, bias", [(True, True), (True, False), (False, True)])
def test_grad_fn_name_is_torchs(name, batched, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 3, 3) if batched else (2, 3, 3, 3))
    arrays = [x, rng.standard_normal((2, 2, 2, 2, 2))] + ([rng.standard_normal(2)] if bias else [])
    ours = getattr(cr.nn.functional, name)(
        *[cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    )
    theirs = getattr(F, name)(*[torch.tensor(a, requires_grad=True) for a in arrays])
    assert ours.grad_fn.name() == theirs.grad_fn.name()
