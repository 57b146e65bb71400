"""The Transformer layers as PyTorch's: ``TransformerEncoderLayer``, ``TransformerEncoder``,
``TransformerDecoderLayer``, ``TransformerDecoder`` and ``Transformer``, with its arguments,
submodule names (``self_attn``, ``linear1``, ``norm1``, ``layers.0``, ...), so a PyTorch state
dict loads as it is, and its masks (bool True = blocked, floats added, ``is_causal`` hints).

Each layer is MultiheadAttention, Linear, Dropout and LayerNorm, so gradients, hooks,
``explain`` and second derivatives need nothing of their own. PyTorch's inference fast path
(nested tensors) is not here: chainrule always runs the plain computation, which gives
PyTorch's training-mode and autograd-mode results (its fast path writes 0 at padded positions).
"""

from __future__ import annotations

import copy

import numpy as np

from chainrule._device import check_device
from chainrule.errors import ShapeError
from chainrule.nn import functional as F
from chainrule.nn.activation import GELU, ReLU
from chainrule.nn.attention import canonical_mask, causal_bias
from chainrule.nn.container import ModuleList
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.multihead_attention import MultiheadAttention
from chainrule.nn.normalization import LayerNorm
from chainrule.random import Generator
from chainrule.tensor import Tensor


def _activation(activation):
    """PyTorch's ``_get_activation_fn``: ``"relu"`` / ``"gelu"`` by name, or any callable."""
    if isinstance(activation, str):
        if activation in ("relu", "gelu"):
            return F.relu if activation == "relu" else F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(
            f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}"
        )
    return activation


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """PyTorch's causal mask for ``sz`` positions: 0 on and below the diagonal, −inf above
    (position i attends to 0..i). float32 unless ``dtype`` says otherwise."""
    from chainrule import _dtype

    check_device(device)
    dtype = _dtype.resolve_dtype(dtype) or _dtype.get_default_dtype()
    return causal_bias(sz, sz, dtype)


def _is_causal(is_causal) -> bool:
    """The causal hint the layers get: as given, else False, and the layers apply ``mask``.

    PyTorch's ``_detect_is_causal_mask`` sets the hint when ``mask`` equals the causal mask;
    the hint then only picks a kernel, with the same numbers as the mask itself. Reading the
    mask's values here would be a Python branch on data: ``cr.compile`` would replay the
    first call's answer and drop a later call's (non-causal) mask. Applying the mask gives
    PyTorch's numbers in every case.
    """
    return bool(is_causal)


class _Layer(Module):
    """What the encoder and decoder layers share: the feed-forward block, norms, dropouts."""

    def _build(self, d_model, nhead, dim_feedforward, dropout, activation, eps, batch_first,
               bias, dtype, generator, norms: int) -> None:  # fmt: skip
        attention = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, generator=generator, **attention)
        if norms == 3:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, generator=generator, **attention
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype, generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype, generator)
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)
        self.activation_relu_or_gelu = (
            1 if self.activation is F.relu or isinstance(self.activation, ReLU)
            else 2 if self.activation is F.gelu or isinstance(self.activation, GELU)
            else 0
        )  # fmt: skip

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            need_weights=False, is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _ff_block(self, x, dropout):
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward network, each with a residual connection and
    LayerNorm, as PyTorch's ``nn.TransformerEncoderLayer``.

    Args:
        d_model: features per position.
        nhead: attention heads (they must divide ``d_model``).
        dim_feedforward: width of the feed-forward network.
        dropout: dropout after attention, inside and after the feed-forward network.
        activation: ``"relu"``, ``"gelu"`` or a callable (a module such as ``nn.GELU()`` too).
        layer_norm_eps: LayerNorm's eps.
        batch_first: (N, S, E) instead of (S, N, E).
        norm_first: LayerNorm before each block (pre-norm) instead of after the residual sum.
        bias: learn biases in the Linear and LayerNorm layers.
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape: src (S, N, E), (N, S, E) with batch_first, or (S, E) → same; src_mask (S, S) or
    (N·nhead, S, S); src_key_padding_mask (N, S); bool True = blocked.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(cr.randn(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, bias, dtype, generator, norms=2)  # fmt: skip
        self.norm_first = bool(norm_first)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        dtype = self.linear1.weight.array.dtype
        src_key_padding_mask = canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", dtype, src_mask, "src_mask"
        )
        src_mask = canonical_mask(src_mask, "src_mask", dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x), self.dropout2)
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x, self.dropout2))
        return x


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention to the encoder's output (``memory``), then a feed-forward
    network, each with a residual connection and LayerNorm, as PyTorch's
    ``nn.TransformerDecoderLayer``.

    Args: as :class:`TransformerEncoderLayer`.

    Shape: tgt (T, N, E) and memory (S, N, E) (batch_first: N leads; unbatched: no N) → like
    tgt; tgt_mask (T, T), memory_mask (T, S), tgt_key_padding_mask (N, T),
    memory_key_padding_mask (N, S).

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(cr.randn(4, 3, 8), cr.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, bias, dtype, generator, norms=3)  # fmt: skip
        self.norm_first = bool(norm_first)

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ):
        x = tgt
        memory_args = (memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), *memory_args)
            x = x + self._ff_block(self.norm3(x), self.dropout3)
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, *memory_args))
            x = self.norm3(x + self._ff_block(x, self.dropout3))
        return x

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            is_causal=is_causal, need_weights=False,
        )[0]  # fmt: skip
        return self.dropout2(x)


def _clones(layer: Module, num_layers: int, name: str) -> ModuleList:
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)):
        raise TypeError(f"{name}: num_layers must be an int, got {num_layers!r}")
    if num_layers < 0:
        raise ValueError(f"{name}: num_layers must be >= 0, got {num_layers}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then ``norm`` if given,
    as PyTorch's ``nn.TransformerEncoder`` (layers ``layers.0``, ``layers.1``, ...).

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer` (copied; the copies start equal).
        num_layers: how many.
        norm: a final layer (usually ``LayerNorm(d_model)``), or ``None``.
        enable_nested_tensor, mask_check: accepted for PyTorch's signature; they switch its
            inference fast path, which chainrule does not have.

    Shape: as :class:`TransformerEncoderLayer`. A ``mask`` equal to the causal mask gives
    the numbers of ``is_causal=True``, as in PyTorch (the mask itself is applied).

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> encoder = cr.nn.TransformerEncoder(layer, num_layers=2)
        >>> encoder(cr.randn(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool | None = None):
        first = self.layers[0] if len(self.layers) else None
        dtype = np.float64 if first is None else first.linear1.weight.array.dtype
        src_key_padding_mask = canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", dtype, mask, "mask"
        )
        mask = canonical_mask(mask, "mask", dtype)
        is_causal = _is_causal(is_causal)
        output = src
        for layer in self.layers:
            output = layer(
                output, src_mask=mask, is_causal=is_causal,
                src_key_padding_mask=src_key_padding_mask,
            )  # fmt: skip
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` applied in turn, then ``norm`` if given,
    as PyTorch's ``nn.TransformerDecoder``.

    Shape: as :class:`TransformerDecoderLayer`; a ``tgt_mask`` equal to the causal mask gives
    the numbers of ``tgt_is_causal=True`` (the mask itself is applied).

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
        >>> decoder = cr.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(cr.randn(4, 3, 8), cr.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ):
        tgt_is_causal = _is_causal(tgt_is_causal)
        output = tgt
        for layer in self.layers:
            output = layer(
                output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
            )  # fmt: skip
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", as PyTorch's
    ``nn.Transformer`` (``encoder.layers.0...``, ``decoder.norm``, ...): weights of two or
    more dimensions start Xavier-uniform, as PyTorch's.

    Args: d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout,
        activation, custom_encoder, custom_decoder, layer_norm_eps, batch_first, norm_first,
        bias, dtype: as PyTorch's (and :class:`TransformerEncoderLayer`); generator: a
        :class:`chainrule.Generator` for the initial weights.

    Shape: src (S, N, E), tgt (T, N, E) (batch_first: N leads; unbatched: no N) → (T, N, E).

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                           num_decoder_layers=1, dim_feedforward=16)
        >>> model(cr.randn(6, 3, 8), cr.randn(4, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps)
        options = dict(batch_first=batch_first, norm_first=norm_first, bias=bias, dtype=dtype)
        if custom_encoder is None:
            layer = TransformerEncoderLayer(*args, **options, generator=generator)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            custom_encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is None:
            layer = TransformerDecoderLayer(*args, **options, generator=generator)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            custom_decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self.encoder, self.decoder = custom_encoder, custom_decoder
        self._reset_parameters(generator)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self, generator: Generator | None = None) -> None:
        from chainrule.nn import init

        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, generator=generator)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ):
        src_shape, tgt_shape = np.shape(_array(src)), np.shape(_array(tgt))
        batch_axis = 0 if self.batch_first else 1
        if len(src_shape) == 3 and src_shape[batch_axis] != tgt_shape[batch_axis]:
            raise ShapeError(
                f"the batch number of src and tgt must be equal: src {src_shape}, tgt "
                f"{tgt_shape} (batch on axis {batch_axis})"
            )
        if src_shape[-1] != self.d_model or tgt_shape[-1] != self.d_model:
            raise ShapeError(
                f"the feature number of src and tgt must be equal to d_model: d_model="
                f"{self.d_model}, src {src_shape}, tgt {tgt_shape}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
            is_causal=src_is_causal,
        )  # fmt: skip
        return self.decoder(
            tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
        )  # fmt: skip


def _array(x):
    return x.array if isinstance(x, Tensor) else np.asarray(x)
