"""PyTorch's ``torch.nn.attention.sdpa_kernel`` and ``SDPBackend``: which kernels
``scaled_dot_product_attention`` may use.

chainrule has one kernel, the math one. On the CPU PyTorch runs ``MATH`` for any inputs and
``FLASH_ATTENTION`` (the same results up to rounding) for 4-D inputs without dropout, and has
none of the others. Where PyTorch finds no kernel, ``scaled_dot_product_attention`` (and
``MultiheadAttention`` with ``need_weights=False``, so the Transformer layers) raises its
"No viable backend" error here too; elsewhere it computes as usual.
"""

from __future__ import annotations

import contextlib
import enum

from chainrule.errors import ArgumentTypeError


class SDPBackend(enum.IntEnum):
    """The attention kernels, with PyTorch's names and values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_RUNNABLE = (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION)  # what a CPU has
_enabled = [list(SDPBackend)]  # process-wide, as PyTorch's flags


class BackendTypeError(ArgumentTypeError, AssertionError):
    """A backend that is not an ``SDPBackend`` (PyTorch: ``AssertionError``)."""


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` (one ``SDPBackend`` or a list) inside the ``with`` block.

    ``set_priority`` is accepted (PyTorch's order of preference; one kernel here).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.attention import SDPBackend, sdpa_kernel
        >>> q = cr.ones(1, 3, 4)
        >>> with sdpa_kernel(SDPBackend.MATH):
        ...     cr.nn.functional.scaled_dot_product_attention(q, q, q).shape
        (1, 3, 4)
    """
    chosen = [backends] if isinstance(backends, SDPBackend) else backends
    if not isinstance(chosen, list) or not all(isinstance(b, SDPBackend) for b in chosen):
        raise BackendTypeError(
            f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
            f"{type(backends).__name__}; e.g. sdpa_kernel(SDPBackend.MATH)"
        )
    previous = _enabled[0]
    _enabled[0] = list(dict.fromkeys(chosen))
    try:
        yield {}
    finally:
        _enabled[0] = previous


def check_backend(q_shape, k_shape, v_shape, mask_ndim, dropout_p: float, gqa: bool) -> None:
    """Raise PyTorch's error when the ``sdpa_kernel`` in force leaves no CPU kernel for these
    inputs: MATH takes any; FLASH_ATTENTION only what PyTorch's CPU flash kernel takes."""
    enabled = _enabled[0]
    if SDPBackend.MATH in enabled:
        return
    why = "the CPU runs only SDPBackend.MATH or SDPBackend.FLASH_ATTENTION"
    if SDPBackend.FLASH_ATTENTION in enabled:
        why = _flash_refusal(q_shape, k_shape, v_shape, mask_ndim, dropout_p, gqa)
        if why is None:
            return
    allowed = ", ".join(backend.name for backend in enabled) or "none"
    raise RuntimeError(
        f"No viable backend for scaled_dot_product_attention was found: sdpa_kernel allows "
        f"{allowed}, and {why}; allow SDPBackend.MATH"
    )


def _flash_refusal(q_shape, k_shape, v_shape, mask_ndim, dropout_p, gqa) -> str | None:
    """Why PyTorch's CPU flash kernel refuses these inputs (None: it takes them)."""
    if not len(q_shape) == len(k_shape) == len(v_shape) == 4:
        return "the flash kernel needs 4-D (batch, heads, length, features) inputs"
    if dropout_p > 0:
        return "the flash kernel on the CPU takes no dropout"
    if not q_shape[-1] == k_shape[-1] == v_shape[-1]:
        return "the flash kernel needs query, key and value of one feature size"
    if not q_shape[0] == k_shape[0] == v_shape[0]:
        return "the flash kernel needs one batch size for query, key and value"
    if not gqa and not q_shape[1] == k_shape[1] == v_shape[1]:
        return "the flash kernel needs one number of heads for query, key and value"
    if mask_ndim is not None and mask_ndim not in (2, 4):
        return "the flash kernel takes a 2-D or 4-D attn_mask only"
    return None
