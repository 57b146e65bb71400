"""ONNX converter for ``nn.MultiheadAttention``, and the attention graph the Transformer layers
share: standard operators only (MatMul, Add, Reshape, Transpose, Mul by 1/√d, Softmax, Where
for the masks), so every ONNX runtime runs it.

Inside the graph a sequence is (N, L, E), batch first; ``to_internal`` / ``from_internal`` turn
a layer's own layout (sequence first, or one unbatched sequence) into it and back. Scores are
(N, H, L, S). Masks become additive biases that broadcast onto them, as chainrule (and
PyTorch) build them: bool True = blocked (−inf), floats added as they are; ``attn_mask`` (L, S)
or (N·H, L, S), ``key_padding_mask`` (N, S). ``is_causal=True`` that chainrule's forward
follows (it then ignores the mask's values) is a causal bias made in the graph from the
lengths, so it holds at every sequence length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import Value, _as_dtype, register_converter


@dataclass
class Masks:
    """One attention call's masks as graph biases (None: no such mask)."""

    attn: str | None = None  # (L, S) or (N, H, L, S)
    padding: str | None = None  # (N, 1, 1, S)
    causal: bool = False  # chainrule's causal bias replaces the masks
    attn_rank: int = 2


def to_internal(g, name: str, batched: bool, batch_first: bool) -> str:
    """A layer's input as the graph's (N, L, E)."""
    if not batched:
        return g.add("Unsqueeze", [name, g.ints([0], "axes")])
    return name if batch_first else g.add("Transpose", [name], perm=[1, 0, 2])


def from_internal(g, name: str, batched: bool, batch_first: bool) -> str:
    """The graph's (N, L, E) back in the layer's own layout."""
    if not batched:
        return g.add("Squeeze", [name, g.ints([0], "axes")])
    return name if batch_first else g.add("Transpose", [name], perm=[1, 0, 2])


def _constant_or_value(g, mask, dtype) -> Value:
    """A mask given as a graph input (Value) or fixed (an array or list: a constant)."""
    if isinstance(mask, Value):
        return mask
    array = np.asarray(getattr(mask, "array", mask))
    array = array if array.dtype.kind == "b" else array.astype(dtype)
    return Value(g.const(array, "mask"), array)


def mask_bias(g, mask, dtype) -> str:
    """A mask as an additive bias of ``dtype``: bool True → −inf (blocked), floats as given."""
    mask = _constant_or_value(g, mask, dtype)
    if mask.array.dtype.kind == "b":
        blocked, open_ = g.scalar(-np.inf, dtype, "blocked"), g.scalar(0.0, dtype, "open")
        return g.add("Where", [mask.name, blocked, open_])
    return _as_dtype(g, mask, dtype)


def padding_bias(g, mask, dtype, batched: bool) -> str:
    """``key_padding_mask`` (N, S), or (S,) unbatched, as a (N, 1, 1, S) bias."""
    return g.add("Unsqueeze", [mask_bias(g, mask, dtype), g.ints([1, 2] if batched else [0, 1, 2])])


def attn_bias(g, mask, dtype, heads: int) -> str:
    """``attn_mask`` (L, S) as it is (it broadcasts); (N·H, L, S) as (N, H, L, S)."""
    bias = mask_bias(g, mask, dtype)
    if np.ndim(getattr(mask, "array", mask)) == 2:
        return bias
    lengths = g.add("Slice", [g.add("Shape", [bias]), g.ints([1]), g.ints([3]), g.ints([0])])
    shape = g.add("Concat", [g.ints([-1, heads], "heads"), lengths], axis=0)
    return g.add("Reshape", [bias, shape])


def call_masks(g, padding, attn, need_weights, is_causal, heads, dtype, batched) -> Masks:
    """The masks of one call, by chainrule's rule: the causal hint replaces ``attn_mask`` when
    there is no padding mask and no weights are returned."""
    if is_causal and attn is not None and padding is None and not need_weights:
        return Masks(causal=True)
    return Masks(
        attn=None if attn is None else attn_bias(g, attn, dtype, heads),
        padding=None if padding is None else padding_bias(g, padding, dtype, batched),
        attn_rank=2 if np.ndim(getattr(attn, "array", attn)) == 2 else 4,
    )


def _causal(g, scores: str, dtype) -> str:
    """0 on and below the diagonal, −inf above, sized from the scores (N, H, L, S)."""
    shape = g.add("Shape", [scores])
    zero, one = g.scalar(0, np.int64, "zero"), g.scalar(1, np.int64, "one")
    target, source = (g.add("Gather", [shape, g.scalar(i, np.int64, "axis")]) for i in (2, 3))
    rows = g.add("Unsqueeze", [g.add("Range", [zero, target, one]), g.ints([1], "axes")])
    blocked = g.add("Greater", [g.add("Range", [zero, source, one]), rows])
    return g.add("Where", [blocked, g.scalar(-np.inf, dtype, "blocked"), g.scalar(0.0, dtype)])


def _bias(g, masks: Masks, scores: str, dtype) -> str | None:
    if masks.causal:
        return _causal(g, scores, dtype)
    parts = [bias for bias in (masks.attn, masks.padding) if bias is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else g.add("Add", parts)


def _safe_softmax(g, scores: str, bias: str, dtype) -> str:
    """Softmax with a query whose keys are all blocked given weights of 0, not NaN (what
    chainrule's attention does when no weights are returned)."""
    blocked = g.add("IsInf", [g.reduce("ReduceMax", bias, [-1])], detect_positive=0)
    bias = g.add("Where", [blocked, g.scalar(0.0, dtype, "zero"), bias])
    weights = g.add("Softmax", [g.add("Add", [scores, bias])], axis=-1)
    to = int(g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    return g.add("Mul", [weights, g.add("Cast", [g.add("Not", [blocked])], to=to)])


def _projections(m) -> list:
    """(weight, bias) of the query, key and value projections (bias None without one)."""
    e = m.embed_dim
    if m._qkv_same_embed_dim:
        packed = np.asarray(m.in_proj_weight.array)
        weights = [packed[i * e : (i + 1) * e] for i in range(3)]
    else:
        weights = [np.asarray(w.array) for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)]
    if m.in_proj_bias is None:
        return [(w, None) for w in weights]
    bias = np.asarray(m.in_proj_bias.array)
    return [(w, bias[i * e : (i + 1) * e]) for i, w in enumerate(weights)]


def _linear(g, x: str, weight: np.ndarray, bias, base: str) -> str:
    y = g.add("MatMul", [x, g.const(np.ascontiguousarray(weight.T), f"{base}_weight")])
    return y if bias is None else g.add("Add", [y, g.const(bias, f"{base}_bias")])


def _extra_keys(g, m, k: str, v: str, masks: Masks, dtype) -> tuple[str, str, Masks]:
    """``add_bias_kv`` (a learned key and value) and ``add_zero_attn`` (a key and value of
    zeros) appended to every sequence of keys, and a 0 (attend) column to the masks."""
    keys, values = [], []
    if m.bias_k is not None:
        keys.append(g.const(np.asarray(m.bias_k.array, dtype), "bias_k"))
        values.append(g.const(np.asarray(m.bias_v.array, dtype), "bias_v"))
    if m.add_zero_attn:  # zeros after the heads split are zeros before it
        zeros = g.const(np.zeros((1, 1, m.embed_dim), dtype), "zero_attn")
        keys.append(zeros)
        values.append(zeros)
    if not keys:
        return k, v, masks
    batch = g.add("Slice", [g.add("Shape", [k]), g.ints([0]), g.ints([1]), g.ints([0])])
    shape = g.add("Concat", [batch, g.ints([1, m.embed_dim])], axis=0)  # (N, 1, E)
    k = g.add("Concat", [k, *(g.add("Expand", [key, shape]) for key in keys)], axis=1)
    v = g.add("Concat", [v, *(g.add("Expand", [value, shape]) for value in values)], axis=1)

    def pad(bias, rank: int):
        pads = [0] * (2 * rank - 1) + [len(keys)]
        return None if bias is None else g.add("Pad", [bias, g.ints(pads, "pads")])

    padded = Masks(pad(masks.attn, masks.attn_rank), pad(masks.padding, 4), masks.causal)
    return k, v, padded


def attend(g, m, q: str, k: str, v: str, masks: Masks, dtype, need_weights=False, average=True):
    """Multi-head attention on (N, L, E) query and (N, S, ·) key and value: the output
    (N, L, E) and the weights ((N, L, S) averaged, (N, H, L, S) not) or None."""
    heads, head = m.num_heads, m.head_dim
    (wq, bq), (wk, bk), (wv, bv) = _projections(m)

    def heads_of(x: str, perm) -> str:  # (N, L, E) -> heads, ordered by perm
        return g.add("Transpose", [g.add("Reshape", [x, g.ints([0, 0, heads, head])])], perm=perm)

    qh = heads_of(_linear(g, q, wq, bq, "q_proj"), [0, 2, 1, 3])  # (N, H, L, D)
    k, v = _linear(g, k, wk, bk, "k_proj"), _linear(g, v, wv, bv, "v_proj")
    k, v, masks = _extra_keys(g, m, k, v, masks, dtype)
    kh = heads_of(k, [0, 2, 3, 1])  # (N, H, D, S): already transposed
    vh = heads_of(v, [0, 2, 1, 3])  # (N, H, S, D)
    scale = g.scalar(1.0 / math.sqrt(head), dtype, "scale")  # on q first, as chainrule
    scores = g.add("MatMul", [g.add("Mul", [qh, scale]), kh])
    bias = _bias(g, masks, scores, dtype)
    if bias is None:
        weights = g.add("Softmax", [scores], axis=-1)
    elif need_weights:  # a fully blocked query gives NaN weights, as chainrule's
        weights = g.add("Softmax", [g.add("Add", [scores, bias])], axis=-1)
    else:
        weights = _safe_softmax(g, scores, bias, dtype)
    out = g.add("Transpose", [g.add("MatMul", [weights, vh])], perm=[0, 2, 1, 3])
    out = g.add("Reshape", [out, g.ints([0, 0, m.embed_dim])])
    proj = m.out_proj
    out_bias = None if proj.bias is None else np.asarray(proj.bias.array)
    out = _linear(g, out, np.asarray(proj.weight.array), out_bias, "out_proj")
    if not need_weights:
        return out, None
    return out, (g.reduce_mean(weights, [1], keepdims=False) if average else weights)


def batch_axes(batch_first: bool, arrays: dict, sequences, paddings) -> dict:
    """The batch axis of each input: of the 3-D sequences (0 or 1), of the 2-D padding masks
    (0); unbatched inputs and ``attn_mask`` have none."""
    axes = {name: 0 if batch_first else 1 for name in sequences if np.ndim(arrays.get(name)) == 3}
    axes |= {name: 0 for name in paddings if np.ndim(arrays.get(name)) == 2}
    return axes


@register_converter(nn.MultiheadAttention)
def _multihead_attention(g, m, call, out):
    dtype = m.out_proj.weight.array.dtype
    batched = call["query"].array.ndim == 3
    inner: dict[str, str] = {}  # one graph tensor per distinct input (self-attention: one)
    for name in ("query", "key", "value"):
        value = call[name]
        if value.name not in inner:
            cast = _as_dtype(g, value, dtype)
            inner[value.name] = to_internal(g, cast, batched, m.batch_first)
    q, k, v = (inner[call[name].name] for name in ("query", "key", "value"))
    need_weights = bool(call["need_weights"])
    masks = call_masks(g, call["key_padding_mask"], call["attn_mask"], need_weights,
                       call["is_causal"], m.num_heads, dtype, batched)  # fmt: skip
    y, weights = attend(g, m, q, k, v, masks, dtype, need_weights, call["average_attn_weights"])
    y = from_internal(g, y, batched, m.batch_first)
    if weights is None:
        return y
    return y, weights if batched else g.add("Squeeze", [weights, g.ints([0], "axes")])


_multihead_attention.takes_call = True  # query, key, value and the masks, by name
_multihead_attention.returns_tuple = True  # (output, weights); weights=None is left out
_multihead_attention.drops_none = True
_multihead_attention.output_names = ("output", "weights")
_multihead_attention.batch_axes = lambda m, arrays: batch_axes(
    m.batch_first, arrays, ("query", "key", "value"), ("key_padding_mask",)
)
