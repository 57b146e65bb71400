"""Parity probe, round 7, new ground: scatter and index writes at negative indices, empty
max/min, ``F.pad``'s reflect/replicate/circular modes and negative sizes, the padding layers,
``short()``/``char()``/``byte()`` and ``nn.init.constant_(val=)``, each against PyTorch."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _kind(fn):
    """The value as a list with its dtype's name, or the builtin class of the error raised
    (the first of PyTorch's classes a script would catch)."""
    try:
        result = fn()
    except NotImplementedError:  # before RuntimeError: it is one
        return "NotImplementedError"
    except IndexError:  # chainrule's index errors are RuntimeErrors too, as PyTorch's 2-D ones
        return "IndexError"
    except RuntimeError:
        return "RuntimeError"
    except ValueError:
        return "ValueError"
    return result.tolist(), str(result.dtype).replace("torch.", "")


def _same(calls):
    ours = {name: _kind(call) for name, call in calls(cr).items()}
    theirs = {name: _kind(call) for name, call in calls(torch).items()}
    for name, outcome in ours.items():
        expected = theirs[name]
        if expected == "RuntimeError" and outcome == "IndexError":
            continue  # IndexOutOfRangeError: an IndexError and a RuntimeError at once
        assert outcome == expected, name
    return ours


# ---- scatter and index writes --------------------------------------------------------------------
def _writes(lib):
    z = lib.zeros(2, 3)
    one = lib.tensor([1.0])
    return {
        "scatter at -1": lambda: z.scatter(1, lib.tensor([[-1]]), 1.0),
        "scatter src at -1": lambda: z.scatter(1, lib.tensor([[-1]]), lib.ones(1, 1)),
        "scatter_ at -1": lambda: z.clone().scatter_(1, lib.tensor([[-1]]), 1.0),
        "scatter float64 src": lambda: z.scatter(1, lib.tensor([[0]]), lib.ones(1, 1).double()),
        "scatter int src": lambda: z.scatter(1, lib.tensor([[0]]), lib.ones(1, 1).long()),
        "scatter src smaller": lambda: z.scatter(1, lib.tensor([[0, 1, 2]]), lib.ones(1, 2)),
        "scatter index too tall": lambda: z.scatter(1, lib.tensor([[0], [1], [1]]), 1.0),
        "scatter fine": lambda: z.scatter(1, lib.tensor([[2], [0]]), lib.ones(2, 1)),
        "index_add at -1": lambda: lib.zeros(3).index_add(0, lib.tensor([-1]), one),
        "index_add 2-D at -1": lambda: z.index_add(1, lib.tensor([-1]), lib.ones(2, 1)),
        "index_copy at -1": lambda: lib.zeros(3).index_copy(0, lib.tensor([-1]), one),
        "index_add fine": lambda: lib.zeros(3).index_add(0, lib.tensor([2, 2]), one.repeat(2)),
        "index_fill at -1": lambda: lib.zeros(3).index_fill(0, lib.tensor([-1]), 1.0),
        "index_fill at 3": lambda: lib.zeros(3).index_fill(0, lib.tensor([3]), 1.0),
        "one_hot of -1": lambda: lib.nn.functional.one_hot(lib.tensor([-1]), 3),
        "one_hot past num_classes": lambda: lib.nn.functional.one_hot(lib.tensor([3]), 3),
    }


def test_scatter_and_index_writes_refuse_negative_indices_as_pytorch():
    ours = _same(_writes)
    assert ours["scatter at -1"] == "IndexError"  # was written at the last column
    assert ours["index_add at -1"] == "IndexError"  # was added to the last element


# ---- max / min over nothing -------------------------------------------------------------------
def _empty_extremes(lib):
    e = lib.zeros(0, 3)
    return {
        "max(0)": lambda: e.max(0),
        "max()": lambda: e.max(),
        "min()": lambda: e.min(),
        "amax(0)": lambda: e.amax(0),
        "amax()": lambda: e.amax(),
        "amin((0, 1))": lambda: e.amin((0, 1)),
        "argmax()": lambda: e.argmax(),
        "argmin(0)": lambda: e.argmin(0),
        "argmax(-2)": lambda: e.argmax(-2),
        "amax(1)": lambda: e.amax(1),
        "max(1) values": lambda: e.max(1).values,
        "argmax(1)": lambda: e.argmax(1),
    }


def test_max_and_min_over_an_empty_dim_raise_pytorchs_error_classes():
    ours = _same(_empty_extremes)
    assert ours["amax(1)"] == ([], "float32")
    with pytest.raises(ValueError, match=r"reduction dim 0 to have non-zero size"):
        cr.zeros(0, 3).max(0)  # a ValueError still, as before, and PyTorch's IndexError


# ---- F.pad ---------------------------------------------------------------------------------------
def _pad_outcome(lib, x, pad, mode):
    """Values and the gradient of a weighted sum, or the error's builtin class."""
    t = lib.tensor(x, dtype=lib.float64, requires_grad=True)

    def run():
        y = lib.nn.functional.pad(t, pad, mode=mode)
        weights = np.arange(int(np.prod(y.shape)), dtype=np.float64).reshape(tuple(y.shape))
        (y * lib.tensor(weights)).sum().backward()
        return y.detach().numpy().tolist(), t.grad.numpy().tolist()

    return _kind(lambda: _Both(run()))


class _Both:
    """Two lists as one outcome, for :func:`_kind`."""

    def __init__(self, pair):
        self.pair = pair

    def tolist(self):
        return self.pair

    dtype = "pair"


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_and_negative_sizes_match_pytorch(mode):
    rng = np.random.default_rng(7)
    shapes = [(3,), (2, 3), (1, 2, 3), (2, 3, 4), (1, 2, 3, 4), (2, 1, 3, 2, 3), (0, 2, 3)]
    checked = 0
    for shape, count in itertools.product(shapes, (2, 4, 6)):
        for _ in range(6):
            pad = tuple(int(p) for p in rng.integers(-2, 3, count))
            if mode == "circular" and any(p < 0 for p in pad):
                continue  # PyTorch reads memory outside the tensor in some such calls
            sizes = [
                n + pad[2 * k] + pad[2 * k + 1] for k, n in enumerate(shape[::-1][: count // 2])
            ]
            if mode != "constant" and 0 in sizes:
                continue  # an empty output: PyTorch's gradient is memory it never wrote
            x = rng.standard_normal(shape)
            ours, theirs = (_pad_outcome(lib, x, pad, mode) for lib in (cr, torch))
            assert ours == theirs, (shape, pad)
            checked += not isinstance(ours, str)
    assert checked > 10  # many calls pad for real, not just raise


def test_pad_refusals_match_pytorch():
    def calls(lib):
        pad = lib.nn.functional.pad
        x = lib.zeros(1, 2, 3)
        return {
            "reflect past the size": lambda: pad(x, (3, 0), mode="reflect"),
            "reflect up to the size": lambda: pad(x, (2, 2), mode="reflect"),
            "replicate of 4-D by 2": lambda: pad(lib.zeros(1, 2, 3, 4), (1, 1), mode="replicate"),
            "reflect of 1-D": lambda: pad(lib.zeros(3), (1, 1), mode="reflect"),
            "odd length": lambda: pad(x, (1,), mode="circular"),
            "value with reflect": lambda: pad(x, (1, 1), mode="reflect", value=1.0),
            "reflect of bool": lambda: pad(x.bool(), (1, 1), mode="reflect"),
            "circular of bool": lambda: pad(x.bool(), (1, 1), mode="circular"),
            "circular twice around": lambda: pad(x, (4, 0), mode="circular"),
            "reflect of an empty row": lambda: pad(lib.zeros(1, 2, 0), (1, 1), mode="reflect"),
            "constant crops past the size": lambda: pad(x, (-4, 0)),
            "constant crops all": lambda: pad(x, (-3, 0)),
            "unknown mode": lambda: pad(x, (1, 1), mode="wrap"),
            "int reflect": lambda: pad(lib.arange(6).reshape(1, 2, 3), (2, 1), mode="reflect"),
        }

    ours = _same(calls)
    assert ours["reflect past the size"] == "RuntimeError"


# ---- padding layers ------------------------------------------------------------------------------
LAYERS = {
    "ZeroPad1d": ((1, 2), (2, 3, 4)),
    "ZeroPad2d": ((1, 0, 2, 1), (1, 2, 3, 4)),
    "ZeroPad3d": (1, (1, 2, 2, 3, 4)),
    "ConstantPad1d": ((2, -1), (2, 3, 4)),
    "ConstantPad2d": (1, (2, 3, 4)),
    "ConstantPad3d": ((1, 1, 0, 1, 1, 0), (2, 2, 3, 4)),
    "ReflectionPad1d": ((2, 1), (2, 3, 4)),
    "ReflectionPad2d": (1, (1, 2, 3, 4)),
    "ReflectionPad3d": ((1, 0, 1, 1, 0, 1), (1, 2, 2, 3, 4)),
    "ReplicationPad1d": (3, (2, 3, 4)),
    "ReplicationPad2d": ((1, 2, 0, 3), (2, 3, 4)),
    "ReplicationPad3d": (1, (1, 2, 2, 3, 4)),
    "CircularPad1d": ((1, 2), (2, 3, 4)),
    "CircularPad2d": ((2, 1, 1, 0), (1, 2, 3, 4)),
    "CircularPad3d": (1, (1, 1, 2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_padding_layers_match_pytorch(name, tmp_path):
    padding, shape = LAYERS[name]
    extra = (2.5,) if name.startswith("Constant") else ()
    ours, theirs = getattr(cr.nn, name)(padding, *extra), getattr(torch.nn, name)(padding, *extra)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal(shape)
    a, b = cr.tensor(x, dtype=cr.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, expected = ours(a), theirs(b)
    np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())
    (y * y).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    path = tmp_path / "pad.safetensors"  # the architecture file rebuilds it
    cr.save(cr.nn.Sequential(ours), path)
    np.testing.assert_array_equal(cr.load(path)(a).detach().numpy(), y.detach().numpy())


def test_padding_layers_refuse_the_wrong_count_of_sizes():
    with pytest.raises(ValueError, match=r"ReflectionPad2d takes one int or 4 ints"):
        cr.nn.ReflectionPad2d((1, 2))


# ---- small names --------------------------------------------------------------------------------
def test_short_char_byte_convert_as_pytorch():
    values = [1.7, -2.0, 300.0]
    for name in ("short", "char", "byte"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's cast out of range
            ours = getattr(cr.tensor(values[:2]), name)()
        theirs = getattr(torch.tensor(values[:2]), name)()
        assert (ours.tolist(), str(ours.dtype)) == (theirs.tolist(), str(theirs.dtype)[6:])


def test_init_constant_takes_pytorchs_keyword():
    w = cr.empty(2, 3)
    cr.nn.init.constant_(w, val=0.25)
    assert w.tolist() == torch.nn.init.constant_(torch.empty(2, 3), val=0.25).tolist()


def test_activations_of_integers_raise_pytorchs_not_implemented_error():
    def calls(lib):
        f, i = lib.nn.functional, lib.tensor([-1, 2])
        return {
            "softmax": lambda: f.softmax(i, 0),
            "log_softmax": lambda: f.log_softmax(i, 0),
            "leaky_relu": lambda: f.leaky_relu(i),
            "gelu": lambda: f.gelu(i),
            "elu": lambda: f.elu(i),
            "silu": lambda: f.silu(i),
            "softplus": lambda: f.softplus(i),
            "logsigmoid": lambda: f.logsigmoid(i),
            "mse_loss": lambda: f.mse_loss(i, i),
        }

    ours = _same(calls)
    assert ours["gelu"] == "NotImplementedError"
    with pytest.raises(cr.DTypeError):  # still the class it was
        cr.nn.functional.gelu(cr.tensor([1]))


def test_masked_fill_takes_the_broadcast_shape_of_a_larger_mask_as_pytorch():
    results = []
    for lib in (cr, torch):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        mask = lib.tensor([[[True, False, False]], [[False, True, False]]])
        y = x.masked_fill(mask, -1.0)
        (y * lib.arange(12.0).reshape(2, 2, 3)).sum().backward()
        in_place = _kind(lambda: x.detach().clone().masked_fill_(mask, 0.0))  # noqa: B023
        results.append((y.tolist(), tuple(y.shape), x.grad.tolist(), in_place))
    assert results[0] == results[1]
    assert results[0][1] == (2, 2, 3) and results[0][3] == "RuntimeError"


def test_small_names_and_refusals_as_pytorch():
    def calls(lib):
        x = lib.tensor([[1.5, -2.5, 3.25], [-0.5, 3.25, 2.5]])
        return {
            "aminmax": lambda: lib.stack(list(lib.aminmax(x))),
            "aminmax dim": lambda: lib.stack(list(x.aminmax(dim=1, keepdim=True))),
            "aminmax empty": lambda: lib.aminmax(lib.zeros(0)).min,
            "new_empty": lambda: lib.tensor(x.new_empty(2, 3).shape),
            "ndimension": lambda: lib.tensor(x.ndimension()),
            "tensor(2**63)": lambda: lib.tensor([2**63]),
            "tensor(2**63 - 1)": lambda: lib.tensor([2**63 - 1]),
            "float & 1": lambda: x & 1,
            "float ^ float": lambda: x ^ x,
            "float << 1": lambda: x << 1,
        }

    ours = _same(calls)
    assert ours["tensor(2**63)"] == "ValueError"  # NumPy would have made a uint64 tensor
    assert ours["float & 1"] == "NotImplementedError"


def test_aminmax_gradients_match_pytorch():
    grads = []
    for lib in (cr, torch):
        x = lib.tensor([[1.0, 3.0, 3.0], [2.0, -1.0, 0.0]], requires_grad=True)
        low, high = x.aminmax(dim=0)
        (low.sum() * 2 + high.sum()).backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]


def test_an_integer_parameter_raises_or_keeps_its_dtype_as_pytorch():
    def calls(lib):
        ints, flags = lib.tensor([1, 2]), lib.tensor([True])
        return {
            "int": lambda: lib.nn.Parameter(ints),
            "bool": lambda: lib.nn.Parameter(flags),
            "int, no grad": lambda: lib.nn.Parameter(ints, requires_grad=False).detach(),
            "float": lambda: lib.nn.Parameter(ints.float()).detach(),
        }

    ours = _same(calls)
    assert ours["int"] == "RuntimeError"  # it had become a float32 parameter
    assert ours["int, no grad"] == ([1, 2], "int64")


def test_tensor_dataset_batches_are_lists_as_pytorchs():
    batches = []
    for lib in (cr, torch):
        data = lib.utils.data
        features, labels = lib.arange(10.0).reshape(5, 2), lib.arange(5)
        loader = data.DataLoader(data.TensorDataset(features, labels), batch_size=2)
        batches.append([(type(b).__name__, [t.tolist() for t in b]) for b in loader])
    assert batches[0] == batches[1]
    assert batches[0][0][0] == "list"


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "layer, shape, options",
    [
        ("Conv2d", (2, 3, 7, 6), {"padding": 1}),
        ("Conv2d", (3, 7, 6), {"padding": "same", "dilation": 2}),
        ("Conv2d", (2, 3, 7, 6), {"padding": (2, 1), "stride": 2}),
        ("Conv1d", (2, 3, 9), {"padding": "same", "kernel_size": 4}),
    ],
)
def test_conv_padding_modes_match_pytorch(mode, layer, shape, options, tmp_path):
    options = dict(options)
    kernel = options.pop("kernel_size", 3)
    ours = getattr(cr.nn, layer)(3, 4, kernel, padding_mode=mode, **options).double()
    theirs = getattr(torch.nn, layer)(3, 4, kernel, padding_mode=mode, **options).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).standard_normal(shape)
    a, b = cr.tensor(x, dtype=cr.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, expected = ours(a), theirs(b)
    (y * y).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    cr.save(ours, tmp_path / "conv.safetensors")  # the mode is part of the architecture
    assert cr.load(tmp_path / "conv.safetensors").padding_mode == mode


def test_transposed_convolutions_still_pad_with_zeros_only():
    for lib in (cr, torch):
        with pytest.raises(ValueError, match="zeros"):
            lib.nn.ConvTranspose2d(1, 1, 2, padding_mode="reflect")


def test_onnx_export_of_a_padding_mode_computes_what_the_layer_does(tmp_path):
    # refused at first (it would have exported zero padding); now exported as a Pad node
    ort = pytest.importorskip("onnxruntime")
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"))
    x = cr.randn(1, 1, 5, 5)
    cr.onnx.export(model, tmp_path / "conv.onnx", x)
    session = ort.InferenceSession(str(tmp_path / "conv.onnx"))
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with cr.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_pooling_and_convolution_argument_errors_are_pytorchs_runtime_errors():
    def calls(lib):
        f, x = lib.nn.functional, lib.ones(1, 1, 5, 5)
        return {
            "max_pool2d padding past half": lambda: f.max_pool2d(x, 2, padding=2),
            "avg_pool2d padding past half": lambda: f.avg_pool2d(x, 2, padding=2),
            "conv2d same with stride": lambda: f.conv2d(
                x, lib.ones(1, 1, 3, 3), padding="same", stride=2
            ),
            "conv_transpose2d output_padding": lambda: f.conv_transpose2d(
                x, lib.ones(1, 1, 2, 2), stride=2, output_padding=2
            ),
        }

    assert set(_same(calls).values()) == {"RuntimeError"}
    with pytest.raises(ValueError):  # still the class it was
        cr.nn.functional.max_pool2d(cr.ones(1, 1, 5, 5), 2, padding=2)


@pytest.mark.parametrize(
    "data", [[1, 2**63], [[1], [2**64]], [True, 2**63], [1.5, 2**63], [[1.0], [2**63]], [1, 2**62]]
)
def test_a_huge_python_int_among_others_is_read_as_pytorch_reads_it(data):
    """Ints only: PyTorch reads them as int64 and refuses one of 2**63 or more (NumPy made the
    list float64 and chainrule a float32 tensor). Beside a float, every value is a float."""
    torch = pytest.importorskip("torch")
    try:
        expected = torch.tensor(data)
    except (ValueError, RuntimeError, OverflowError):
        with pytest.raises(ValueError, match="Overflow"):
            cr.tensor(data)
        return
    ours = cr.tensor(data)
    assert str(ours.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-6)
