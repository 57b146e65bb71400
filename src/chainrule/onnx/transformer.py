"""ONNX converters for the Transformer layers: ``TransformerEncoderLayer``,
``TransformerDecoderLayer``, ``TransformerEncoder``, ``TransformerDecoder`` and ``Transformer``.

Each layer is the attention graph of :mod:`chainrule.onnx.attention`, ``Linear`` (MatMul, Add),
the activation (Relu, or GELU as the ``GELU`` converter writes it) and ``LayerNorm`` (the
``LayerNorm`` converter), joined by the residual ``Add``s in the layer's order (``norm_first``
or not). Dropout is the identity in evaluation mode. A stack converts its inputs to the graph's
(N, L, E) once, builds the masks once for all its layers, and returns to the caller's layout.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from chainrule import nn
from chainrule.nn import functional as F
from chainrule.onnx.attention import (
    attend,
    batch_axes,
    call_masks,
    from_internal,
    to_internal,
)
from chainrule.onnx.converters import Value, _as_dtype, _gelu, register_converter


def _sub(g, module, name: str, example: np.ndarray, path: str) -> str:
    """``module`` converted on the graph tensor ``name`` (``example``: a stand-in of its shape)."""
    from chainrule.onnx.export import convert_module  # export imports this module

    return convert_module(g, module, Value(name, example), path).name


def _exact(module, cls, where: str) -> None:
    """Only chainrule's own forward is known to the exporter."""
    if not isinstance(module, cls) or type(module).forward is not cls.forward:
        raise ValueError(
            f"{where} is a {type(module).__name__}, not a {cls.__name__} with its own forward; "
            f"register a converter for it (chainrule.onnx.register_converter)"
        )


def _activation(g, layer, x: str, dtype, path: str) -> str:
    act = layer.activation
    if isinstance(act, nn.Module):
        return _sub(g, act, x, np.zeros((1, 1, layer.linear1.out_features), dtype), path)
    if act is F.relu:
        return g.add("Relu", [x])
    if act is F.gelu:
        return _gelu(g, SimpleNamespace(approximate="none"), Value(x, np.zeros((), dtype)), None)
    raise ValueError(
        f"the activation {act!r} is a Python function the exporter cannot translate; build the "
        f"layer with activation='relu', 'gelu' or a module such as nn.GELU(approximate='tanh')"
    )


def _feed_forward(g, layer, x: str, dtype, path: str) -> str:
    width = layer.linear1.out_features
    hidden = _sub(g, layer.linear1, x, np.zeros((1, 1, layer.linear1.in_features), dtype),
                  f"{path}.linear1")  # fmt: skip
    hidden = _activation(g, layer, hidden, dtype, f"{path}.activation")
    return _sub(g, layer.linear2, hidden, np.zeros((1, 1, width), dtype), f"{path}.linear2")


def _norm(g, norm, x: str, dtype, path: str) -> str:
    return _sub(g, norm, x, np.zeros((1, 1, norm.normalized_shape[-1]), dtype), path)


def _encoder_layer(g, layer, x: str, masks, dtype, path: str) -> str:
    """One encoder layer on the graph's (N, L, E) ``x``."""

    def self_attention(y: str) -> str:
        return attend(g, layer.self_attn, y, y, y, masks, dtype)[0]

    if layer.norm_first:
        x = g.add("Add", [x, self_attention(_norm(g, layer.norm1, x, dtype, f"{path}.norm1"))])
        y = _norm(g, layer.norm2, x, dtype, f"{path}.norm2")
        return g.add("Add", [x, _feed_forward(g, layer, y, dtype, path)])
    x = _norm(g, layer.norm1, g.add("Add", [x, self_attention(x)]), dtype, f"{path}.norm1")
    y = g.add("Add", [x, _feed_forward(g, layer, x, dtype, path)])
    return _norm(g, layer.norm2, y, dtype, f"{path}.norm2")


def _decoder_layer(g, layer, x: str, memory: str, masks, dtype, path: str) -> str:
    """One decoder layer on the graph's (N, T, E) ``x`` and (N, S, E) ``memory``."""
    self_masks, memory_masks = masks

    def blocks(y: str, i: int) -> str:
        if i == 0:
            return attend(g, layer.self_attn, y, y, y, self_masks, dtype)[0]
        if i == 1:
            return attend(g, layer.multihead_attn, y, memory, memory, memory_masks, dtype)[0]
        return _feed_forward(g, layer, y, dtype, path)

    norms = (layer.norm1, layer.norm2, layer.norm3)
    for i, norm in enumerate(norms):
        where = f"{path}.norm{i + 1}"
        if layer.norm_first:
            x = g.add("Add", [x, blocks(_norm(g, norm, x, dtype, where), i)])
        else:
            x = _norm(g, norm, g.add("Add", [x, blocks(x, i)]), dtype, where)
    return x


def _layout(layers, default_dtype) -> tuple:
    """(dtype, batch_first, heads) of a stack's layers (an empty stack passes its input on)."""
    if not layers:
        return default_dtype, True, 1
    first = layers[0]
    return first.linear1.weight.array.dtype, first.self_attn.batch_first, first.self_attn.num_heads


def encode(g, encoder, src: Value, mask, padding, is_causal, path: str) -> Value:
    """A ``TransformerEncoder`` on ``src`` in its own layout; the output in the same layout."""
    layers = list(encoder.layers)
    for i, layer in enumerate(layers):
        _exact(layer, nn.TransformerEncoderLayer, f"{path}.layers.{i}")
    dtype, batch_first, heads = _layout(layers, src.array.dtype)
    batched = src.array.ndim == 3
    # only a hint given as True ignores the mask's values; a mask that chainrule finds equal to
    # the causal one stays an input, whose values then are the causal bias's
    causal = bool(is_causal)
    x = to_internal(g, _as_dtype(g, src, dtype), batched, batch_first)
    masks = call_masks(g, padding, mask, False, causal, heads, dtype, batched)
    for i, layer in enumerate(layers):
        x = _encoder_layer(g, layer, x, masks, dtype, f"{path}.layers.{i}")
    out = Value(from_internal(g, x, batched, batch_first), np.zeros(src.array.shape, dtype))
    if encoder.norm is None:
        return out
    return Value(_sub(g, encoder.norm, out.name, out.array, f"{path}.norm"), out.array)


def decode(g, decoder, tgt: Value, memory: Value, masks: dict, path: str) -> str:
    """A ``TransformerDecoder`` on ``tgt`` and ``memory`` in their own layout."""
    layers = list(decoder.layers)
    for i, layer in enumerate(layers):
        _exact(layer, nn.TransformerDecoderLayer, f"{path}.layers.{i}")
    dtype, batch_first, heads = _layout(layers, tgt.array.dtype)
    batched = tgt.array.ndim == 3
    tgt_causal = bool(masks["tgt_is_causal"])  # as in encode
    x = to_internal(g, _as_dtype(g, tgt, dtype), batched, batch_first)
    kv = to_internal(g, _as_dtype(g, memory, dtype), batched, batch_first)
    both = (
        call_masks(g, masks["tgt_key_padding_mask"], masks["tgt_mask"], False, tgt_causal, heads,
                   dtype, batched),
        call_masks(g, masks["memory_key_padding_mask"], masks["memory_mask"], False,
                   masks["memory_is_causal"], heads, dtype, batched),
    )  # fmt: skip
    for i, layer in enumerate(layers):
        x = _decoder_layer(g, layer, x, kv, both, dtype, f"{path}.layers.{i}")
    out = from_internal(g, x, batched, batch_first)
    if decoder.norm is None:
        return out
    return _sub(g, decoder.norm, out, np.zeros(tgt.array.shape, dtype), f"{path}.norm")


def _scope(g) -> str:
    return g.scope


@register_converter(nn.TransformerEncoderLayer)
def _encoder_layer_converter(g, m, call, out):
    # a stack of one, without the stack's causal-mask detection: the layer takes the hint as given
    dtype, batch_first = m.linear1.weight.array.dtype, m.self_attn.batch_first
    src = call["src"]
    batched = src.array.ndim == 3
    masks = call_masks(g, call["src_key_padding_mask"], call["src_mask"], False,
                       call["is_causal"], m.self_attn.num_heads, dtype, batched)  # fmt: skip
    x = to_internal(g, _as_dtype(g, src, dtype), batched, batch_first)
    x = _encoder_layer(g, m, x, masks, dtype, _scope(g))
    return from_internal(g, x, batched, batch_first)


@register_converter(nn.TransformerEncoder)
def _encoder_converter(g, m, call, out):
    return encode(g, m, call["src"], call["mask"], call["src_key_padding_mask"],
                  call["is_causal"], _scope(g)).name  # fmt: skip


_DECODER_MASKS = ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")


@register_converter(nn.TransformerDecoderLayer)
def _decoder_layer_converter(g, m, call, out):
    class _One:  # the layer as a stack of one, taking its causal hints as given
        layers, norm = [m], None

    masks = {name: call[name] for name in _DECODER_MASKS}
    masks |= {"tgt_is_causal": bool(call["tgt_is_causal"]),
              "memory_is_causal": call["memory_is_causal"]}  # fmt: skip
    return decode(g, _One, call["tgt"], call["memory"], masks, _scope(g))


@register_converter(nn.TransformerDecoder)
def _decoder_converter(g, m, call, out):
    masks = {name: call[name] for name in _DECODER_MASKS}
    masks |= {"tgt_is_causal": call["tgt_is_causal"], "memory_is_causal": call["memory_is_causal"]}
    return decode(g, m, call["tgt"], call["memory"], masks, _scope(g))


@register_converter(nn.Transformer)
def _transformer_converter(g, m, call, out):
    path = _scope(g)
    _exact(m.encoder, nn.TransformerEncoder, f"{path}.encoder")
    _exact(m.decoder, nn.TransformerDecoder, f"{path}.decoder")
    memory = encode(g, m.encoder, call["src"], call["src_mask"], call["src_key_padding_mask"],
                    call["src_is_causal"], f"{path}.encoder")  # fmt: skip
    masks = {name: call[name] for name in _DECODER_MASKS}
    masks |= {"tgt_is_causal": call["tgt_is_causal"], "memory_is_causal": call["memory_is_causal"]}
    return decode(g, m.decoder, call["tgt"], memory, masks, f"{path}.decoder")


def _register(fn, batch_first, sequences, paddings) -> None:
    fn.takes_call = True  # the sequences and the masks, by name
    fn.batch_axes = lambda m, arrays: batch_axes(batch_first(m), arrays, sequences, paddings)


def _stack_batch_first(m) -> bool:
    return bool(len(m.layers)) and m.layers[0].self_attn.batch_first


_ENCODER = (("src",), ("src_key_padding_mask",))
_DECODER = (("tgt", "memory"), ("tgt_key_padding_mask", "memory_key_padding_mask"))
_register(_encoder_layer_converter, lambda m: m.self_attn.batch_first, *_ENCODER)
_register(_encoder_converter, _stack_batch_first, *_ENCODER)
_register(_decoder_layer_converter, lambda m: m.self_attn.batch_first, *_DECODER)
_register(_decoder_converter, _stack_batch_first, *_DECODER)
_register(
    _transformer_converter,
    lambda m: m.batch_first,
    ("src", "tgt"),
    ("src_key_padding_mask", "tgt_key_padding_mask", "memory_key_padding_mask"),
)
