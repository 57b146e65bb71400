"""``nn.MultiheadAttention`` as PyTorch's: arguments, parameter names (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``; ``q_proj_weight``, ... when ``kdim`` / ``vdim`` differ),
initialisation, masks, output shapes and errors, so a PyTorch state dict loads as it is.

The forward is :func:`chainrule.nn.attention.multi_head_attention_forward`, made of the ordinary
differentiable ops.
"""

from __future__ import annotations

import numbers

import numpy as np

from chainrule._device import check_device
from chainrule.nn import init
from chainrule.nn._util import as_float_input, check_size, float_dtype
from chainrule.nn.attention import AttentionShapeError, multi_head_attention_forward
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module, Parameter
from chainrule.ops import swapaxes
from chainrule.random import Generator


class NonDynamicallyQuantizableLinear(Linear):
    """A :class:`Linear` under the class name PyTorch gives ``MultiheadAttention.out_proj``
    (PyTorch uses the name to keep quantization off it; here it only keeps the repr the same)."""


def _check_args(embed_dim, num_heads, dropout) -> None:
    for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"MultiheadAttention: {name} must be an int, got {value!r}")
    if embed_dim <= 0 or num_heads <= 0:
        raise ValueError(
            f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
            f"num_heads={num_heads} instead"
        )
    if embed_dim % num_heads:
        raise AttentionShapeError(
            f"embed_dim must be divisible by num_heads: embed_dim={embed_dim}, "
            f"num_heads={num_heads}; each head gets embed_dim // num_heads features"
        )
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
        raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout!r}")


class MultiheadAttention(Module):
    """Attention from several heads at once, as PyTorch's ``nn.MultiheadAttention``:
    softmax(Q_h K_hᵀ / √d + mask) V_h per head h, concatenated and projected by ``out_proj``.

    Args:
        embed_dim: features of the query (and of the output); split across the heads.
        num_heads: parallel heads, each of ``embed_dim // num_heads`` features.
        dropout: dropout on the attention weights, in training mode only.
        bias: learn ``in_proj_bias`` and ``out_proj.bias``.
        add_bias_kv: learn one more key and value (``bias_k``, ``bias_v``) appended to them.
        add_zero_attn: append a key and a value of zeros (after the projections).
        kdim, vdim: features of key and value (default ``embed_dim``); when either differs,
            the projections are ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim) (batch first: N leads; unbatched:
        no N) → output like query, and weights (N, L, S) averaged over heads, (N, heads, L, S)
        with ``average_attn_weights=False``, or ``None`` with ``need_weights=False``.
        key_padding_mask (N, S), attn_mask (L, S) or (N·heads, L, S); bool True = blocked.

    Example:
        >>> import chainrule as cr
        >>> attention = cr.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = cr.randn(3, 5, 8)
        >>> output, weights = attention(x, x, x)
        >>> output.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        _check_args(embed_dim, num_heads, dropout)
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else check_size(kdim, "kdim", "MHA", 1)
        self.vdim = self.embed_dim if vdim is None else check_size(vdim, "vdim", "MHA", 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        dtype = float_dtype(dtype)
        empty = lambda *shape: Parameter(np.empty(shape, dtype))  # noqa: E731
        names = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in names[1:]:
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bool(bias), dtype, generator
        )
        if add_bias_kv:
            self.bias_k, self.bias_v = empty(1, 1, embed_dim), empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters(generator)

    def _reset_parameters(self, generator: Generator | None = None) -> None:
        """PyTorch's initialisation: Xavier-uniform projections, zero biases, Xavier-normal
        ``bias_k`` / ``bias_v``; ``out_proj.weight`` keeps Linear's own initialisation."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, generator=generator)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, generator=generator)
            init.xavier_normal_(self.bias_v, generator=generator)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        """Attend from ``query`` to ``key`` / ``value``: (output, weights or None). See the
        class docstring for shapes; ``is_causal`` is a hint that ``attn_mask`` is causal, as in
        PyTorch (an ``attn_mask`` is still required)."""
        dtype = self.out_proj.weight.array.dtype
        inputs = [query, key, value]
        tensors = [as_float_input(x, dtype, "MultiheadAttention") for x in inputs]
        for i in (1, 2):  # keep self-attention's identity (one projection for q, k and v)
            for j in range(i):
                if inputs[i] is inputs[j]:
                    tensors[i] = tensors[j]
        query, key, value = tensors
        batched = query.ndim == 3
        if self.batch_first and batched:
            flipped = {}
            query, key, value = (
                flipped.setdefault(id(t), swapaxes(t, 0, 1)) for t in (query, key, value)
            )
        output, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )  # fmt: skip
        if self.batch_first and batched:
            output = swapaxes(output, 0, 1)
        return output, weights
