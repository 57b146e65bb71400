"""Attention as PyTorch's functions: ``scaled_dot_product_attention`` and the multi-head
attention forward behind ``nn.MultiheadAttention``, with PyTorch's mask conventions and errors.

Everything is made of the ordinary differentiable ops (matmul, softmax, linear, dropout), so
gradients, hooks, ``explain`` and second derivatives need nothing of their own here. Masks are
constants turned into an additive bias (0 where a position may attend, −inf where it may not);
a float mask that requires grad gets its gradient as in PyTorch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chainrule import ops
from chainrule.autograd.compile_hooks import per_call
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.sdpa_kernel import (  # noqa: F401 - SDPBackend and sdpa_kernel: torch.nn.attention's
    SDPBackend,
    check_backend,
    sdpa_kernel,
)
from chainrule.ops._util import operand
from chainrule.ops.elementwise import where
from chainrule.tensor import Tensor


class AttentionShapeError(ShapeError, AssertionError):
    """Shapes that PyTorch's attention rejects with an ``AssertionError`` (heads that do not
    divide ``embed_dim``, a ``key_padding_mask`` of the wrong shape, ...)."""


class MaskDTypeError(DTypeError, AssertionError):
    """A mask that is neither bool nor floating point (PyTorch: AssertionError in
    MultiheadAttention, RuntimeError in scaled_dot_product_attention; this is both)."""


def _dropout(x: Tensor, p: float) -> Tensor:
    from chainrule.nn.dropout import Dropout

    return Dropout(p)(x)  # a new module is in training mode: PyTorch's F.dropout(training=True)


def _as_mask(mask, name: str, dtype) -> Tensor:
    """A mask as a tensor: bool or floating point, as PyTorch's (integers are refused). A
    float array or list takes ``dtype`` (the query's); a float tensor must have it already."""
    if not isinstance(mask, Tensor):
        array = np.asarray(mask)
        mask = Tensor._make(array.astype(dtype) if array.dtype.kind == "f" else array, False)
    if mask.array.dtype.kind not in "bf":
        raise MaskDTypeError(
            f"only bool and floating types of {name} are supported, got {mask.array.dtype}; "
            f"pass mask.bool() or a float mask (0 to attend, -inf to block)"
        )
    return mask


def _causal_array(target_len: int, source_len: int, dtype) -> np.ndarray:
    return np.triu(np.full((target_len, source_len), -np.inf, dtype), 1)


def causal_bias(target_len: int, source_len: int, dtype) -> Tensor:
    """PyTorch's causal mask as a bias: query i sees keys 0..i (aligned at the top left).
    Made per call, so ``cr.compile`` replays it instead of refusing a made-up array."""
    return Tensor._make(per_call(_causal_array, target_len, source_len, dtype), False)


def _bias(mask: Tensor, dtype, attend_when: bool) -> Tensor:
    """A bool mask as a 0/−inf bias (``attend_when`` says which value lets a position attend);
    a float mask as it is (its dtype must be the query's)."""
    if mask.array.dtype.kind == "b":
        # an op on the mask itself, so cr.compile reads each call's mask (not a copy of the first)
        zero, blocked = (Tensor._make(np.array(v, dtype), False) for v in (0.0, -np.inf))
        return where(mask.array, zero, blocked) if attend_when else where(mask.array, blocked, zero)
    if mask.array.dtype != dtype:
        # PyTorch raises; a constant mask is converted instead, so a model that makes a float32
        # causal mask in forward still runs in float64 (cr.explain, gradient checks)
        if mask.requires_grad:
            raise DTypeError(
                f"a float attention mask that requires grad must have the query's dtype: the "
                f"mask is {mask.array.dtype}, the query {dtype}; convert it: mask.to(cr.{dtype})"
            )
        return Tensor._make(mask.array.astype(dtype), False)
    return mask


def _check_qkv(query, key, value) -> tuple[Tensor, Tensor, Tensor]:
    q, k, v = operand(query), operand(key), operand(value)
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(
            f"scaled_dot_product_attention: Expected query, key, and value to all be at least 2 "
            f"dimensional, but got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: "
            f"{v.ndim} instead"
        )
    dtypes = {t.array.dtype for t in (q, k, v)}
    if len(dtypes) > 1 or q.array.dtype.kind != "f":
        raise DTypeError(
            f"scaled_dot_product_attention: Expected query, key, and value to have the same "
            f"floating point dtype, but got query.dtype: {q.array.dtype} key.dtype: "
            f"{k.array.dtype} and value.dtype: {v.array.dtype} instead"
        )
    if k.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"scaled_dot_product_attention: query (..., L, E) {q.shape}, key (..., S, E) "
            f"{k.shape} and value (..., S, Ev) {v.shape} do not fit: the key needs the query's "
            f"last size and the value the key's sequence length"
        )
    return q, k, v


def _repeat_heads(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """``enable_gqa``: each key/value head serves a group of query heads (dim -3)."""
    if min(q.ndim, k.ndim, v.ndim) < 3 or q.shape[-3] % k.shape[-3] or k.shape[-3] != v.shape[-3]:
        raise ShapeError(
            f"scaled_dot_product_attention(enable_gqa=True): the query's heads (dim -3) must be "
            f"a multiple of the key's and value's, got {q.shape}, {k.shape}, {v.shape}"
        )
    groups = q.shape[-3] // k.shape[-3]
    return k.repeat_interleave(groups, dim=-3), v.repeat_interleave(groups, dim=-3)


def attend(q: Tensor, k: Tensor, v: Tensor, bias, scale: float, dropout_p: float, safe: bool):
    """softmax(q kᵀ · scale + bias) v, and the weights. ``safe``: a query whose keys are all
    blocked gets weights of 0 (PyTorch's ``scaled_dot_product_attention``), not NaN (its
    ``MultiheadAttention`` with ``need_weights=True``)."""
    scores = ops.matmul(q * scale, ops.swapaxes(k, -2, -1))
    if bias is None:
        weights = ops.softmax(scores, dim=-1)
    else:
        blocked = np.all(np.isneginf(bias.array), axis=-1, keepdims=True) if safe else None
        if blocked is not None and blocked.any():
            bias = ops.where(blocked, Tensor._make(np.zeros((), bias.array.dtype), False), bias)
            weights = ops.softmax(scores + bias, dim=-1) * (~blocked).astype(bias.array.dtype)
        else:
            with np.errstate(invalid="ignore"):  # a blocked row is NaN, quietly, as PyTorch's
                weights = ops.softmax(scores + bias, dim=-1)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p)
    return ops.matmul(weights, v), weights


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q Kᵀ / √E + mask) V, as PyTorch's ``F.scaled_dot_product_attention``.

    Args:
        query, key, value: (..., L, E), (..., S, E) and (..., S, Ev); leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
            (..., L, S).
        dropout_p: dropout on the attention weights, applied whenever > 0 (as PyTorch's: pass
            ``p if self.training else 0.0`` yourself).
        is_causal: query i attends to keys 0..i only; not together with ``attn_mask``.
        scale: the factor on Q Kᵀ, 1/√E when ``None``.
        enable_gqa: grouped-query attention: key and value have fewer heads (dim -3) than query.

    A query whose keys are all masked gets an output of 0, as PyTorch's.

    Shape: → (..., L, Ev).

    Example:
        >>> import chainrule as cr
        >>> q = k = v = cr.ones(2, 3, 4)
        >>> cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 3, 4)
    """
    q, k, v = _check_qkv(query, key, value)
    mask_ndim = None if attn_mask is None else np.ndim(attn_mask)
    check_backend(q.shape, k.shape, v.shape, mask_ndim, float(dropout_p), enable_gqa)
    if enable_gqa:
        k, v = _repeat_heads(q, k, v)
    dtype = q.array.dtype
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "scaled_dot_product_attention: Explicit attn_mask should not be set when "
                "is_causal=True; pass one or the other"
            )
        bias = causal_bias(q.shape[-2], k.shape[-2], dtype)
    elif attn_mask is not None:
        bias = _bias(_as_mask(attn_mask, "attn_mask", dtype), dtype, attend_when=True)
        try:
            np.broadcast_shapes(bias.shape, q.shape[:-1] + (k.shape[-2],))
        except ValueError:
            raise ShapeError(
                f"scaled_dot_product_attention: attn_mask of shape {bias.shape} does not "
                f"broadcast to the scores' shape (..., L, S) = {q.shape[:-1] + (k.shape[-2],)}"
            ) from None
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return attend(q, k, v, bias, factor, float(dropout_p), safe=True)[0]


# ---- multi-head attention ---------------------------------------------------------------------
def canonical_mask(mask, name: str, dtype, other=None, other_name: str = ""):
    """PyTorch's ``_canonical_mask`` for MultiheadAttention and the Transformer layers: a bool
    mask (True = blocked) becomes a float 0/−inf mask of ``dtype``; floats pass through. A bool
    mask beside a float ``other`` gets PyTorch's deprecation warning."""
    if mask is None:
        return None
    mask = _as_mask(mask, name, dtype)
    if other is not None and _as_mask(other, other_name, dtype).array.dtype != mask.array.dtype:
        warnings.warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for "
            f"both instead.",
            stacklevel=4,
        )
    return _bias(mask, dtype, attend_when=False)


def _check_batched(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's ``_mha_shape_check``: whether the input has a batch axis."""
    if query.ndim not in (2, 3):
        raise AttentionShapeError(
            f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D "
            f"query tensor (shape {query.shape})"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AttentionShapeError(
            f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
            f"{key.ndim}-D and {value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AttentionShapeError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
            f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise AttentionShapeError(
            f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
            f"{attn_mask.ndim}-D tensor instead"
        )
    if not batched and attn_mask is not None and attn_mask.ndim == 3:
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.shape != expected:
            raise AttentionShapeError(
                f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}"
            )
    return batched


def _project(query, key, value, weights, in_proj_bias):
    """The input projections: one product for self-attention, else one per input."""
    embed = query.shape[-1] if weights[1] is None else weights[0].shape[0]
    biases = (None,) * 3 if in_proj_bias is None else ops.split(in_proj_bias, [embed] * 3)
    if weights[1] is None:  # packed (3E, E) weight
        if query is key and key is value:
            return ops.split(ops.linear(query, weights[0], in_proj_bias), [embed] * 3, axis=-1)
        weights = ops.split(weights[0], [embed] * 3)
    return tuple(ops.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _check_attn_mask(attn_mask, target_len, source_len, rows):
    if attn_mask.ndim == 2:
        if attn_mask.shape != (target_len, source_len):
            raise ShapeError(
                f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                f"{(target_len, source_len)}: (L, S), target and source lengths."
            )
        return attn_mask.unsqueeze(0)
    if attn_mask.shape != (rows, target_len, source_len):
        raise ShapeError(
            f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
            f"{(rows, target_len, source_len)}: (batch * num_heads, L, S)."
        )
    return attn_mask


def _extend_keys(k, v, masks, bias_k, bias_v, add_zero_attn, batch):
    """``add_bias_kv`` and ``add_zero_attn``: one more key/value (learned, then zero), which
    no mask blocks. k, v are (S, N, E) for the first, (N·H, S, D) for the second."""
    if bias_k is not None:
        k = ops.cat([k, bias_k.expand(1, batch, bias_k.shape[-1])])
        v = ops.cat([v, bias_v.expand(1, batch, bias_v.shape[-1])])
    if add_zero_attn:
        zeros = Tensor._make(per_call(np.zeros, (k.shape[0], 1, k.shape[2]), k.array.dtype), False)
        k, v = ops.cat([k, zeros], axis=1), ops.cat([v, zeros], axis=1)
    padded = [None if m is None else ops.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, 1)]) for m in masks]
    return k, v, padded


def _masks(query, key, value, key_padding_mask, attn_mask, num_heads, need_weights, is_causal):
    """The inputs made 3-D (L, N, E) and both masks made additive float tensors, by PyTorch's
    rules; also whether the causal hint replaces ``attn_mask`` (need_weights=False only)."""
    dtype = query.array.dtype
    kpm = key_padding_mask
    kpm = None if kpm is None else _as_mask(kpm, "key_padding_mask", dtype)
    mask = None if attn_mask is None else _as_mask(attn_mask, "attn_mask", dtype)
    batched = _check_batched(query, key, value, kpm, mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        kpm = None if kpm is None else kpm.unsqueeze(0)
    kpm = canonical_mask(kpm, "key_padding_mask", dtype, mask, "attn_mask")
    if is_causal and mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and kpm is None and not need_weights:
        mask = None  # the hint wins: PyTorch applies its own causal mask then
    else:
        mask = canonical_mask(mask, "attn_mask", dtype)
        is_causal = False
    return (query, key, value), kpm, mask, batched, is_causal


def _check_dims(query, key, value, embed_dim_to_check, num_heads, separate: bool) -> int:
    """The head size, after PyTorch's checks of the embedding sizes."""
    embed = query.shape[-1]
    if embed != embed_dim_to_check:
        raise AttentionShapeError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed} "
            f"(query of shape {query.shape})"
        )
    if embed % num_heads:
        raise AttentionShapeError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    if separate and key.shape[:2] != value.shape[:2]:
        raise AttentionShapeError(
            f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}"
        )
    if not separate and key.shape != value.shape:
        raise AttentionShapeError(f"key shape {key.shape} does not match value shape {value.shape}")
    if key.shape[1] != query.shape[1]:  # PyTorch fails later, in a reshape
        raise AttentionShapeError(
            f"query's batch size {query.shape[1]} does not match key's {key.shape[1]} (query "
            f"{query.shape}, key {key.shape}, as (length, batch, features)); for inputs of "
            f"(batch, length, features), build MultiheadAttention(..., batch_first=True)"
        )
    return embed // num_heads


def _merge_padding(mask, kpm, batch: int, num_heads: int, source_len: int) -> Tensor:
    """The key padding mask (N, S), repeated per head, added to the attention mask."""
    if kpm.shape != (batch, source_len):
        raise AttentionShapeError(
            f"expecting key_padding_mask shape of {(batch, source_len)}, but got "
            f"{kpm.shape}: (batch, source length)"
        )
    kpm = kpm.reshape(batch, 1, 1, source_len).expand(batch, num_heads, 1, source_len)
    kpm = kpm.reshape(batch * num_heads, 1, source_len)
    return kpm if mask is None else mask + kpm


def multi_head_attention_forward(
    query,
    key,
    value,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight,
    out_proj_bias,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """PyTorch's ``F.multi_head_attention_forward`` (what ``nn.MultiheadAttention`` calls):
    (L, N, E) inputs, or (L, E) unbatched → (output, weights or None). Masks: bool True =
    blocked, floats added. ``static_k`` / ``static_v`` are not supported."""
    if static_k is not None or static_v is not None:
        raise ValueError(
            "multi_head_attention_forward: static_k / static_v are not supported in chainrule; "
            "pass the keys and values as key and value"
        )
    query, key, value = operand(query), operand(key), operand(value)
    (query, key, value), kpm, mask, batched, is_causal = _masks(
        query, key, value, key_padding_mask, attn_mask, num_heads, need_weights, is_causal
    )
    (target_len, batch, embed), source_len = query.shape, key.shape[0]
    head = _check_dims(query, key, value, embed_dim_to_check, num_heads, use_separate_proj_weight)
    weights = (
        (q_proj_weight, k_proj_weight, v_proj_weight)
        if use_separate_proj_weight
        else (in_proj_weight, None, None)
    )
    q, k, v = _project(query, key, value, weights, in_proj_bias)
    rows = batch * num_heads
    if mask is not None:
        mask = _check_attn_mask(mask, target_len, source_len, rows)
    if (bias_k is None) != (bias_v is None):
        raise ValueError("bias_k and bias_v must be given together (add_bias_kv)")
    if bias_k is not None:
        k, v, (mask, kpm) = _extend_keys(k, v, [mask, kpm], bias_k, bias_v, False, batch)
    q, k, v = (ops.swapaxes(t.reshape(t.shape[0], rows, head), 0, 1) for t in (q, k, v))
    if add_zero_attn:
        k, v, (mask, kpm) = _extend_keys(k, v, [mask, kpm], None, None, True, batch)
    source_len = k.shape[1]
    if kpm is not None:
        mask = _merge_padding(mask, kpm, batch, num_heads, source_len)
    if is_causal:
        mask = causal_bias(target_len, source_len, query.array.dtype)
    p = float(dropout_p) if training else 0.0
    if not need_weights:  # PyTorch's path through scaled_dot_product_attention, 4-D inputs
        shape = (batch, num_heads, target_len, head)
        check_backend(shape, shape, shape, None if mask is None else 4, p, False)
    out, attn = attend(q, k, v, mask, 1.0 / math.sqrt(head), p, safe=not need_weights)
    out = ops.swapaxes(out, 0, 1).reshape(target_len * batch, embed)
    out = ops.linear(out, out_proj_weight, out_proj_bias).reshape(target_len, batch, -1)
    if need_weights:
        attn = attn.reshape(batch, num_heads, target_len, source_len)
        attn = attn.mean(axis=1) if average_attn_weights else attn
    else:
        attn = None
    if not batched:
        out = out.squeeze(1)
        attn = None if attn is None else attn.squeeze(0)
    return out, attn
