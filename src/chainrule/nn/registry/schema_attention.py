"""The schemas of the attention layers a saved architecture may name: MultiheadAttention, the
Transformer encoder and decoder layers, their stacks and ``nn.Transformer``.

A layer is written by its constructor's arguments, read back from the built layer. The layers
keep few of their arguments, so each is derived from the submodules (``d_model`` from
``self_attn.embed_dim``, ...) and the submodules are then checked to be exactly what those
arguments build: a layer changed after construction (a replaced norm, one dropout edited) is
refused rather than saved as something else. The stacks (``TransformerEncoder``, ...) and
``Transformer`` hold other layers, which are written as nested configs (:class:`Nested`).
"""

from __future__ import annotations

from chainrule.errors import ModelFormatError
from chainrule.nn import functional as F
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.multihead_attention import MultiheadAttention, NonDynamicallyQuantizableLinear
from chainrule.nn.normalization import LayerNorm
from chainrule.nn.registry.checks import (
    Nested,
    _bool,
    _choice,
    _dtype,
    _optional,
    _positive,
    _positive_size,
    _probability,
    _size,
)
from chainrule.nn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

_LAYER_ARGS = {
    "d_model": _positive_size,
    "nhead": _positive_size,
    "dim_feedforward": _positive_size,
    "dropout": _probability,
    "activation": _choice("relu", "gelu"),
    "layer_norm_eps": _positive,
    "batch_first": _bool,
    "norm_first": _bool,
    "bias": _bool,
    "dtype": _dtype,
}
_MHA_ARGS = {
    "embed_dim": _positive_size,
    "num_heads": _positive_size,
    "dropout": _probability,
    "bias": _bool,
    "add_bias_kv": _bool,
    "add_zero_attn": _bool,
    "kdim": _optional(_positive_size),
    "vdim": _optional(_positive_size),
    "batch_first": _bool,
    "dtype": _dtype,
}


def _stack_args(layer_kind: str, layer_name: str) -> dict:
    return {
        layer_name: Nested("layers", (layer_kind,), repeat="num_layers"),
        "num_layers": _size,
        "norm": Nested("norm"),
    }


LAYERS: dict[str, tuple[type, dict]] = {
    "MultiheadAttention": (MultiheadAttention, _MHA_ARGS),
    "TransformerEncoderLayer": (TransformerEncoderLayer, _LAYER_ARGS),
    "TransformerDecoderLayer": (TransformerDecoderLayer, _LAYER_ARGS),
    "TransformerEncoder": (
        TransformerEncoder,
        _stack_args("TransformerEncoderLayer", "encoder_layer")
        | {"enable_nested_tensor": _bool, "mask_check": _bool},
    ),
    "TransformerDecoder": (
        TransformerDecoder,
        _stack_args("TransformerDecoderLayer", "decoder_layer"),
    ),
    "Transformer": (
        Transformer,
        {
            "d_model": _positive_size,
            "nhead": _positive_size,
            "batch_first": _bool,
            "custom_encoder": Nested("encoder", ("TransformerEncoder",), optional=False),
            "custom_decoder": Nested("decoder", ("TransformerDecoder",), optional=False),
        },
    ),
}
REQUIRED: dict[str, tuple] = {
    "MultiheadAttention": ("embed_dim", "num_heads"),
    "TransformerEncoderLayer": ("d_model", "nhead"),
    "TransformerDecoderLayer": ("d_model", "nhead"),
    "TransformerEncoder": ("num_layers",),
    "TransformerDecoder": ("num_layers",),
    "Transformer": ("d_model", "nhead", "custom_encoder", "custom_decoder"),
}
NESTING = {"TransformerEncoder", "TransformerDecoder", "Transformer"}  # they hold other layers


def attention_parameter_count(kind: str, args: dict) -> int:
    """How many numbers the layer itself allocates (nested layers are counted on their own)."""
    if kind == "MultiheadAttention":
        embed = args.get("embed_dim", 0)
        kdim, vdim = args.get("kdim") or embed, args.get("vdim") or embed
        bias = 4 * embed if args.get("bias", True) else 0
        bias_kv = 2 * embed if args.get("add_bias_kv", False) else 0
        return embed * (2 * embed + kdim + vdim) + bias + bias_kv
    if kind in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        d, ff = args.get("d_model", 0), args.get("dim_feedforward", 2048)
        bias = args.get("bias", True)
        attentions = 1 if kind == "TransformerEncoderLayer" else 2
        attention = attention_parameter_count("MultiheadAttention", {"embed_dim": d, "bias": bias})
        norms = (attentions + 1) * d * (2 if bias else 1)
        return attentions * attention + 2 * d * ff + (ff + d if bias else 0) + norms
    return 0


def _refuse(module, problem: str) -> ModelFormatError:
    return ModelFormatError(
        f"cannot describe {type(module).__name__} as an architecture: {problem}. Save "
        f"model.state_dict() instead and rebuild the model in code before load_state_dict"
    )


def _expect(module, name: str, cls: type, config: dict, actual) -> None:
    child = getattr(module, name, None)
    if type(child) is not cls or actual(child) != config:
        raise _refuse(
            module,
            f"its {name} is not what its arguments build (changed after construction?): "
            f"expected {cls.__name__} {config}",
        )


def _dropout_config(dropout: Dropout) -> dict:
    return {"p": dropout.p, "inplace": dropout.inplace}


def _mha_config(attention: MultiheadAttention) -> dict:
    return {
        "embed_dim": attention.embed_dim,
        "num_heads": attention.num_heads,
        "dropout": attention.dropout,
        "bias": attention.in_proj_bias is not None,
        "add_bias_kv": attention.bias_k is not None,
        "add_zero_attn": attention.add_zero_attn,
        "kdim": attention.kdim,
        "vdim": attention.vdim,
        "batch_first": attention.batch_first,
        "dtype": str(attention.out_proj.weight.array.dtype),
    }


def describe_attention(attention: MultiheadAttention, child) -> dict:
    args = _mha_config(attention)
    linear = {"in_features": args["embed_dim"], "out_features": args["embed_dim"]}
    linear |= {"bias": args["bias"], "dtype": args["dtype"]}
    _expect(attention, "out_proj", NonDynamicallyQuantizableLinear, linear, Linear._config)
    if set(attention._modules) != {"out_proj"}:
        raise _refuse(attention, f"it holds modules {sorted(attention._modules)}")
    return args


def _activation_name(layer) -> str:
    if layer.activation is F.relu:
        return "relu"
    if layer.activation is F.gelu:
        return "gelu"
    raise _refuse(
        layer,
        f"its activation {layer.activation!r} is not 'relu' or 'gelu', the only ones a file "
        f"can name (build the layer with activation='relu' or 'gelu' to save it this way)",
    )


def describe_layer(layer, child) -> dict:
    """A TransformerEncoderLayer's or TransformerDecoderLayer's arguments, checked against its
    submodules."""
    activation = _activation_name(layer)
    decoder = isinstance(layer, TransformerDecoderLayer)
    attentions = ("self_attn", "multihead_attn") if decoder else ("self_attn",)
    norms = range(1, 4 if decoder else 3)
    expected = {*attentions, "linear1", "dropout", "linear2"}
    expected |= {f"{kind}{i}" for kind in ("norm", "dropout") for i in norms}
    linear1 = getattr(layer, "linear1", None)
    attention = getattr(layer, "self_attn", None)
    if (
        set(layer._modules) != expected
        or type(linear1) is not Linear
        or type(attention) is not MultiheadAttention
    ):
        raise _refuse(layer, f"it holds modules {sorted(layer._modules)}")
    d_model, bias, dtype = attention.embed_dim, linear1.bias is not None, linear1._config()["dtype"]
    args = {
        "d_model": d_model,
        "nhead": attention.num_heads,
        "dim_feedforward": linear1.out_features,
        "dropout": attention.dropout,
        "activation": activation,
        "layer_norm_eps": getattr(layer.norm1, "eps", None),
        "batch_first": attention.batch_first,
        "norm_first": layer.norm_first,
        "bias": bias,
        "dtype": dtype,
    }
    mha = {"embed_dim": d_model, "num_heads": args["nhead"], "dropout": args["dropout"]}
    mha |= {"bias": bias, "add_bias_kv": False, "add_zero_attn": False, "kdim": d_model}
    mha |= {"vdim": d_model, "batch_first": args["batch_first"], "dtype": dtype}
    for name in attentions:
        _expect(layer, name, MultiheadAttention, mha, lambda m: describe_attention(m, child))
    ff = args["dim_feedforward"]
    for name, (n_in, n_out) in (("linear1", (d_model, ff)), ("linear2", (ff, d_model))):
        linear = {"in_features": n_in, "out_features": n_out, "bias": bias, "dtype": dtype}
        _expect(layer, name, Linear, linear, Linear._config)
    norm = {"normalized_shape": [d_model], "eps": args["layer_norm_eps"]}
    norm |= {"elementwise_affine": True, "bias": bias, "dtype": dtype}
    dropout = {"p": args["dropout"], "inplace": False}
    for name in ("dropout", *(f"dropout{i}" for i in norms)):
        _expect(layer, name, Dropout, dropout, _dropout_config)
    for i in norms:
        _expect(layer, f"norm{i}", LayerNorm, norm, LayerNorm._config)
    return args


def describe_stack(stack, child) -> dict:
    """A TransformerEncoder's or TransformerDecoder's arguments: its first layer as a nested
    config (every layer must equal it, as the deep copies the constructor makes do)."""
    encoder = isinstance(stack, TransformerEncoder)
    layer_kind = TransformerEncoderLayer if encoder else TransformerDecoderLayer
    layers = list(stack.layers)
    configs = [child(layer, f"layers.{i}", shareable=False) for i, layer in enumerate(layers)]
    if any(type(layer) is not layer_kind for layer in layers):
        raise _refuse(stack, f"its layers must all be {layer_kind.__name__}")
    if any(config != configs[0] for config in configs):
        raise _refuse(stack, "its layers differ; the file can rebuild only equal copies of one")
    if set(stack._modules) - {"layers", "norm"} or stack.num_layers != len(layers):
        raise _refuse(stack, f"it holds modules {sorted(stack._modules)}")
    name = "encoder_layer" if encoder else "decoder_layer"
    args = {name: configs[0] if configs else None, "num_layers": len(layers)}
    args["norm"] = None if stack.norm is None else child(stack.norm, "norm")
    if encoder:
        args |= {"enable_nested_tensor": bool(stack.enable_nested_tensor)}
        args |= {"mask_check": bool(stack.mask_check)}
    return args


def describe_transformer(model: Transformer, child) -> dict:
    if set(model._modules) != {"encoder", "decoder"}:
        raise _refuse(model, f"it holds modules {sorted(model._modules)}")
    for name, cls in (("encoder", TransformerEncoder), ("decoder", TransformerDecoder)):
        if type(getattr(model, name)) is not cls:
            raise _refuse(model, f"its {name} must be a {cls.__name__}")
    return {
        "d_model": model.d_model,
        "nhead": model.nhead,
        "batch_first": model.batch_first,
        "custom_encoder": child(model.encoder, "encoder"),
        "custom_decoder": child(model.decoder, "decoder"),
    }


DESCRIBE = {
    "MultiheadAttention": describe_attention,
    "TransformerEncoderLayer": describe_layer,
    "TransformerDecoderLayer": describe_layer,
    "TransformerEncoder": describe_stack,
    "TransformerDecoder": describe_stack,
    "Transformer": describe_transformer,
}
