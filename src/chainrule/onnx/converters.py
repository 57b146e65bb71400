"""The converter table: one function per layer type, each emitting the layer's ONNX nodes.

A converter is ``fn(g, module, x, out) -> str``: ``g`` is the :class:`~chainrule.onnx._graph.Graph`
being built, ``module`` the chainrule layer, ``x`` the :class:`Value` flowing in (its ONNX name
and the array chainrule computed for the example input), ``out`` the array the layer returned
for that input (its shape and dtype are the ONNX output's). It returns the name of the node
output that holds the layer's result. Adding a layer type is one decorated function::

    @register_converter(nn.Conv2d)
    def _conv2d(g, m, x, out):
        ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chainrule import nn
from chainrule.nn.embedding import renorm_array_
from chainrule.onnx import float64_formulas, padding
from chainrule.onnx.unbatched import batch_of_one

CONVERTERS: dict[type, object] = {}
# layer types with no ONNX export, each with the reason and what to do instead
REFUSED: dict[type, str] = {}


@dataclass
class Value:
    """A tensor of the graph being built: its ONNX name and chainrule's value for the example."""

    name: str
    array: np.ndarray


def register_converter(*classes):
    """Decorator: ``fn`` converts layers of ``classes`` (subclasses that keep their forward)."""

    def decorate(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return decorate


def _present(*names: str) -> tuple:
    """The layer classes among ``names`` that this chainrule has (newer layers register when
    they exist, so the table never names a class that is missing)."""
    return tuple(getattr(nn, name) for name in names if name in getattr(nn, "__all__", ()))


def _param(tensor) -> np.ndarray:
    return np.asarray(tensor.array)


def _as_dtype(g, x: Value, dtype) -> str:
    """``x`` cast to ``dtype`` where chainrule converts it (float64 into a float32 layer)."""
    dtype = np.dtype(dtype)
    if x.array.dtype == dtype:
        return x.name
    return g.add("Cast", [x.name], to=int(g.onnx.helper.np_dtype_to_tensor_dtype(dtype)))


# ---- layers with weights --------------------------------------------------------------------
@register_converter(nn.Linear, *_present("LazyLinear"))  # Lazy: shaped by the example run
def _linear(g, m, x, out):
    w = _param(m.weight)
    y = g.add("MatMul", [_as_dtype(g, x, w.dtype), g.const(w.T, "weight")])  # any leading dims
    if m.bias is not None:
        y = g.add("Add", [y, g.const(_param(m.bias), "bias")])
    return y


@register_converter(nn.Embedding)
def _embedding(g, m, x, out):
    table = _param(m.weight).copy()  # the padding row looks up its values, as in PyTorch
    if m.max_norm is not None:  # each row as it stands once looked up: renormalised
        renorm_array_(table, np.arange(len(table)), m.max_norm, m.norm_type)
    return g.add("Gather", [g.const(table, "weight"), x.name], axis=0)


@register_converter(nn.BatchNorm1d, *_present("BatchNorm2d", "BatchNorm3d"))
def _batch_norm(g, m, x, out):
    dtype = out.dtype
    c = m.num_features
    weight = np.ones(c, dtype) if m.weight is None else _param(m.weight)
    bias = np.zeros(c, dtype) if m.bias is None else _param(m.bias)
    xin = _as_dtype(g, x, dtype)
    if m.track_running_stats:  # evaluation mode: the running statistics, one standard node
        return g.add(
            "BatchNormalization",
            [
                xin,
                g.const(weight.astype(dtype), "weight"),
                g.const(bias.astype(dtype), "bias"),
                g.const(_param(m.running_mean).astype(dtype), "running_mean"),
                g.const(_param(m.running_var).astype(dtype), "running_var"),
            ],
            epsilon=float(m.eps),
        )
    # no running statistics: chainrule normalises with the batch's own, so does the graph
    axes = [0, *range(2, x.array.ndim)]
    stat_shape = (1, c) + (1,) * (x.array.ndim - 2)
    y = _normalise(g, xin, axes, m.eps, dtype)
    if m.weight is not None:
        y = g.add("Mul", [y, g.const(weight.reshape(stat_shape), "weight")])
    if m.bias is not None:
        y = g.add("Add", [y, g.const(bias.reshape(stat_shape), "bias")])
    return y


def _normalise(g, x: str, axes, eps: float, dtype) -> str:
    """(x − mean) / √(mean((x − mean)²) + eps) over ``axes``, as chainrule computes it."""
    centred = g.add("Sub", [x, g.reduce_mean(x, axes)])
    var = g.reduce_mean(g.add("Mul", [centred, centred]), axes)
    std = g.add("Sqrt", [g.add("Add", [var, g.scalar(eps, dtype, "eps")])])
    return g.add("Div", [centred, std])


@register_converter(nn.LayerNorm)
def _layer_norm(g, m, x, out):
    dtype = out.dtype
    k = len(m.normalized_shape)
    axes = list(range(x.array.ndim - k, x.array.ndim))
    y = _normalise(g, _as_dtype(g, x, dtype), axes, m.eps, dtype)
    if m.weight is not None:
        y = g.add("Mul", [y, g.const(_param(m.weight), "weight")])
    if m.bias is not None:
        y = g.add("Add", [y, g.const(_param(m.bias), "bias")])
    return y


def _channel_affine(g, m, y: str, channels: int, positions: int) -> str:
    """γ·y + β with γ, β of shape (C,) along the channel dimension (``positions`` after it)."""
    stat_shape = (channels,) + (1,) * positions
    if m.weight is not None:
        y = g.add("Mul", [y, g.const(_param(m.weight).reshape(stat_shape), "weight")])
    if m.bias is not None:
        y = g.add("Add", [y, g.const(_param(m.bias).reshape(stat_shape), "bias")])
    return y


@register_converter(*_present("GroupNorm"))
def _group_norm(g, m, x, out):
    dtype = out.dtype
    xin = _as_dtype(g, x, dtype)
    # (N, G, rest): 0 copies the (dynamic) batch size, -1 is a group's channels and positions
    shape = g.const(np.array([0, m.num_groups, -1], np.int64), "shape")
    grouped = g.add("Reshape", [xin, shape])
    y = g.add("Reshape", [_normalise(g, grouped, [2], m.eps, dtype), g.add("Shape", [xin])])
    return _channel_affine(g, m, y, m.num_channels, x.array.ndim - 2)


@register_converter(*_present("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"))
def _instance_norm(g, m, x, out):
    dtype = out.dtype
    xin = _as_dtype(g, x, dtype)
    positions = m.spatial_dims
    channels = x.array.shape[x.array.ndim - positions - 1]
    if m.track_running_stats:  # evaluation mode: the running statistics, as chainrule's eval
        stat_shape = (channels,) + (1,) * positions
        mean = _param(m.running_mean).reshape(stat_shape).astype(dtype)
        scale = 1.0 / np.sqrt(_param(m.running_var).reshape(stat_shape) + m.eps)
        y = g.add(
            "Mul",
            [
                g.add("Sub", [xin, g.const(mean, "running_mean")]),
                g.const(scale.astype(dtype), "scale"),
            ],
        )
    elif x.array.ndim == positions + 2 and dtype == np.float32:  # ONNX Runtime's kernel: float
        weight = np.ones(channels, dtype) if m.weight is None else _param(m.weight)
        bias = np.zeros(channels, dtype) if m.bias is None else _param(m.bias)
        return g.add(
            "InstanceNormalization",
            [xin, g.const(weight, "weight"), g.const(bias, "bias")],
            epsilon=float(m.eps),
        )
    else:  # float64, or one sample without its batch dimension
        axes = range(x.array.ndim - positions, x.array.ndim)
        y = _normalise(g, xin, axes, m.eps, dtype)
    return _channel_affine(g, m, y, channels, positions)


@register_converter(*_present("LocalResponseNorm"))
def _local_response_norm(g, m, x, out):
    # PyTorch's construction: squares zero-padded along the channels (⌊n/2⌋ before, ⌊(n−1)/2⌋
    # after), then the mean of n shifted slices (ONNX's LRN centres an even window the other
    # way, and ONNX Runtime's AveragePool has no float64)
    dtype, ndim, c = out.dtype, x.array.ndim, x.array.shape[1]
    xin = _as_dtype(g, x, dtype)
    pads = np.zeros(2 * ndim, np.int64)
    pads[1], pads[ndim + 1] = m.size // 2, (m.size - 1) // 2
    padded = g.add("Pad", [g.add("Mul", [xin, xin]), g.const(pads, "pads")])
    axis = g.const(np.array([1], np.int64), "axis")
    total = None
    for start in range(m.size):
        bounds = [g.const(np.array([v], np.int64), "bound") for v in (start, start + c)]
        part = g.add("Slice", [padded, *bounds, axis])
        total = part if total is None else g.add("Add", [total, part])
    energy = g.add("Mul", [total, g.scalar(1.0 / m.size, dtype, "inverse_size")])
    energy = g.add("Mul", [energy, g.scalar(m.alpha, dtype, "alpha")])
    energy = g.add("Add", [energy, g.scalar(m.k, dtype, "k")])
    return g.add("Div", [xin, g.add("Pow", [energy, g.scalar(m.beta, dtype, "beta")])])


# ---- shape layers ---------------------------------------------------------------------------
@register_converter(nn.Identity, nn.Dropout, *_present("Dropout2d"))
def _identity(g, m, x, out):
    return g.add("Identity", [x.name])  # Dropout is the identity in evaluation mode


def _reshape(g, x: Value, shape) -> str:
    return g.add("Reshape", [x.name, g.const(np.array(shape, np.int64), "shape")])


@register_converter(nn.Flatten)
def _flatten(g, m, x, out):
    ndim = x.array.ndim
    start, end = m.start_dim % ndim, m.end_dim % ndim
    # 0 copies the input's dimension (the batch stays dynamic), -1 is the merged one
    shape = [0] * start + [-1] + list(x.array.shape[end + 1 :])
    return _reshape(g, x, shape)


@register_converter(*_present("Unflatten"))
def _unflatten(g, m, x, out):
    ndim = x.array.ndim
    dim = m.dim % ndim
    sizes = list(out.shape[dim : dim + out.ndim - ndim + 1])
    if dim == 0:
        return _reshape(g, x, [-1, *sizes[1:], *x.array.shape[1:]])
    return _reshape(g, x, [0] * dim + sizes + list(x.array.shape[dim + 1 :]))


# ---- activations ----------------------------------------------------------------------------
def _simple(op: str):
    def convert(g, m, x, out):
        return g.add(op, [x.name])

    return convert


register_converter(nn.Sigmoid)(_simple("Sigmoid"))
register_converter(nn.Tanh)(_simple("Tanh"))
register_converter(nn.ReLU)(_simple("Relu"))


@register_converter(nn.LeakyReLU)
def _leaky_relu(g, m, x, out):
    if float64_formulas.is_float64(out):
        return float64_formulas.leaky(g, x.name, out.dtype, m.negative_slope)
    return g.add("LeakyRelu", [x.name], alpha=float(m.negative_slope))


@register_converter(nn.Hardtanh, nn.ReLU6)  # ReLU6 is Hardtanh(0, 6) with its own op
def _hardtanh(g, m, x, out):
    dtype = x.array.dtype
    low = g.scalar(m.min_val, dtype, "min_val")
    high = g.scalar(m.max_val, dtype, "max_val")
    return g.add("Clip", [x.name, low, high])


@register_converter(nn.ELU)
def _elu(g, m, x, out):
    if float64_formulas.is_float64(out):
        return float64_formulas.elu(g, x.name, out.dtype, float(m.alpha))
    return g.add("Elu", [x.name], alpha=float(m.alpha))


@register_converter(nn.GELU)
def _gelu(g, m, x, out):
    # ONNX Runtime computes a float64 Gelu node through float32: the tanh formula stays float64
    tanh_float64 = m.approximate == "tanh" and float64_formulas.is_float64(out)
    if g.opset >= 20 and not tanh_float64:
        return g.add("Gelu", [x.name], approximate=m.approximate)
    dtype = x.array.dtype
    half = g.scalar(0.5, dtype, "half")
    one = g.scalar(1.0, dtype, "one")
    if m.approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        cube = g.add("Mul", [g.add("Mul", [x.name, x.name]), x.name])
        inner = g.add("Add", [x.name, g.add("Mul", [cube, g.scalar(0.044715, dtype, "c")])])
        scaled = g.add("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dtype, "k")])
        t = g.add("Tanh", [scaled])
    else:  # 0.5·x·(1 + erf(x / √2))
        t = g.add("Erf", [g.add("Div", [x.name, g.scalar(math.sqrt(2.0), dtype, "sqrt2")])])
    return g.add("Mul", [g.add("Mul", [x.name, half]), g.add("Add", [t, one])])


@register_converter(nn.Softplus)
def _softplus(g, m, x, out):
    dtype = x.array.dtype
    bx = x.name if m.beta == 1 else g.add("Mul", [x.name, g.scalar(m.beta, dtype, "beta")])
    if float64_formulas.is_float64(out):
        soft = float64_formulas.softplus(g, bx, dtype)
    else:
        soft = g.add("Softplus", [bx])
    if m.beta != 1:
        soft = g.add("Div", [soft, g.scalar(m.beta, dtype, "beta")])
    # above the threshold chainrule (like PyTorch) returns x itself
    linear = g.add("Greater", [bx, g.scalar(m.threshold, dtype, "threshold")])
    return g.add("Where", [linear, x.name, soft])


@register_converter(nn.SiLU)
def _silu(g, m, x, out):
    return g.add("Mul", [x.name, g.add("Sigmoid", [x.name])])


@register_converter(nn.LogSigmoid)
def _log_sigmoid(g, m, x, out):
    # ln σ(x) = min(x, 0) − ln(1 + e^(−|x|)): no exponential of a large number
    dtype = x.array.dtype
    zero = g.scalar(0.0, dtype, "zero")
    if float64_formulas.is_float64(out):
        tail = float64_formulas.log1p_exp_neg_abs(g, x.name, dtype)
    else:
        tail = g.add("Softplus", [g.add("Neg", [g.add("Abs", [x.name])])])
    return g.add("Sub", [g.add("Min", [x.name, zero]), tail])


def _softmax_axis(m, out) -> int:
    """The layer's dim, or for dim=None PyTorch's implicit choice (0 for 0-, 1-, 3-D, else 1)."""
    if m.dim is not None:
        return int(m.dim)
    return 0 if len(out.shape) in (0, 1, 3) else 1


@register_converter(nn.Softmax)
def _softmax(g, m, x, out):
    return g.add("Softmax", [x.name], axis=_softmax_axis(m, out))


@register_converter(nn.LogSoftmax)
def _log_softmax(g, m, x, out):
    return g.add("LogSoftmax", [x.name], axis=_softmax_axis(m, out))


# ---- convolution and pooling (nn/conv.py, nn/pooling.py) -------------------------------------
def _ints(value, n: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)] * n


def _pads(padding, n: int) -> list[int]:
    """ONNX's pads (all begins, then all ends) for symmetric PyTorch padding."""
    return _ints(padding, n) * 2


@register_converter(*_present("Conv1d", "Conv2d", "Conv3d"))
@batch_of_one
def _conv(g, m, x, out):
    n = len(m.kernel_size)
    if m.padding == "same":  # stride 1: PyTorch puts the odd extra pad at the end
        total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
        pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    elif m.padding == "valid":
        pads = [0] * (2 * n)
    else:
        pads = _pads(m.padding, n)
    x_name = _as_dtype(g, x, out.dtype)
    if m.padding_mode != "zeros":  # ONNX's Conv pads with zeros: the other modes pad first
        lead = [0] * (x.array.ndim - n)
        begins, ends = lead + pads[:n], lead + pads[n:]
        x_name = padding.pad(g, x_name, out.dtype, begins, ends, m.padding_mode)
        pads = [0] * (2 * n)
    inputs = [x_name, g.const(_param(m.weight), "weight")]
    if m.bias is not None:
        inputs.append(g.const(_param(m.bias), "bias"))
    return g.add(
        "Conv",
        inputs,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=pads,
        dilations=list(m.dilation),
        group=int(m.groups),
    )


@register_converter(*_present("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"))
@batch_of_one
def _conv_transpose(g, m, x, out):
    n = len(m.kernel_size)
    inputs = [_as_dtype(g, x, out.dtype), g.const(_param(m.weight), "weight")]
    if m.bias is not None:
        inputs.append(g.const(_param(m.bias), "bias"))
    return g.add(
        "ConvTranspose",
        inputs,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=_pads(m.padding, n),
        dilations=list(m.dilation),
        group=int(m.groups),
        output_padding=list(m.output_padding),
    )


def _spatial(x: Value) -> int:
    return x.array.ndim - 2


@register_converter(*_present("MaxPool1d", "MaxPool2d", "MaxPool3d"))
@batch_of_one
def _max_pool(g, m, x, out):
    n = _spatial(x)
    kernel, stride, dilation = (_ints(v, n) for v in (m.kernel_size, m.stride, m.dilation))
    y = g.add(
        "MaxPool",
        [x.name],
        kernel_shape=kernel,
        strides=stride,
        pads=_pads(m.padding, n),
        dilations=dilation,
        ceil_mode=int(m.ceil_mode),
    )
    return _drop_window_in_padding(g, y, m, x, out, kernel, stride, dilation)


def _drop_window_in_padding(g, y: str, m, x: Value, out, kernel, stride, dilation) -> str:
    """With ceil_mode, PyTorch drops a last window that would start in the right-hand padding;
    ONNX's shape formula keeps it (ONNX Runtime drops it too), so slice to chainrule's size."""
    if not m.ceil_mode:
        return y
    n = len(kernel)
    pad = _ints(m.padding, n)
    sizes = x.array.shape[2:]
    onnx_sizes = [
        -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
        for size, p, d, k, s in zip(sizes, pad, dilation, kernel, stride)
    ]
    if list(onnx_sizes) == list(out.shape[2:]):
        return y
    axes = list(range(2, 2 + n))
    return g.add(
        "Slice",
        [
            y,
            g.const(np.zeros(n, np.int64), "starts"),
            g.const(np.array(out.shape[2:], np.int64), "ends"),
            g.const(np.array(axes, np.int64), "axes"),
        ],
    )


@register_converter(*_present("AvgPool1d", "AvgPool2d", "AvgPool3d"))
@batch_of_one
def _avg_pool(g, m, x, out):
    if getattr(m, "divisor_override", None) is not None:
        raise ValueError(f"{type(m).__name__}(divisor_override=...) has no ONNX equivalent")
    n = _spatial(x)
    kernel, stride = _ints(m.kernel_size, n), _ints(m.stride, n)
    y = g.add(
        "AveragePool",
        [x.name],
        kernel_shape=kernel,
        strides=stride,
        pads=_pads(m.padding, n),
        ceil_mode=int(m.ceil_mode),
        count_include_pad=int(m.count_include_pad),
    )
    return _drop_window_in_padding(g, y, m, x, out, kernel, stride, [1] * n)


@register_converter(*_present("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"))
@batch_of_one
def _adaptive_avg_pool(g, m, x, out):
    sizes = x.array.shape[2:]
    outs = out.shape[2:]
    if all(o == 1 for o in outs):
        return g.add("GlobalAveragePool", [x.name])
    if any(s % o for s, o in zip(sizes, outs)):
        raise ValueError(
            f"{type(m).__name__}: output size {tuple(outs)} does not divide the input's "
            f"{tuple(sizes)}; ONNX pools with fixed windows, so export with an input size that "
            f"is a multiple of the output size"
        )
    kernel = [s // o for s, o in zip(sizes, outs)]
    return g.add("AveragePool", [x.name], kernel_shape=kernel, strides=kernel)


def supported() -> list[str]:
    """Names of the layer types :func:`chainrule.onnx.export` converts, including chainrule's
    subclasses that convert as their parent (``ReLU6`` as ``Hardtanh``)."""
    names = {cls.__name__ for cls in CONVERTERS} | {"Sequential"}
    for name in dir(nn):
        cls = getattr(nn, name)
        if isinstance(cls, type) and any(
            issubclass(cls, base) and cls.forward is base.forward for base in CONVERTERS
        ):
            names.add(name)
    return sorted(names)
