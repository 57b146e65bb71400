"""InferenceTensor: what ``cr.inference_mode()`` makes, as PyTorch's inference tensors.

A plain :class:`~chainrule.tensor.Tensor` made inside the block becomes one (its class is
swapped, nothing is copied). It is a Tensor in every way, and says so in ``is_inference()``;
``autograd.grad_mode`` holds the rules (no in-place writes, no ``requires_grad_()``, not saved
for backward, outside the block).
"""

from __future__ import annotations

from chainrule.autograd import grad_mode
from chainrule.tensor import Tensor


class InferenceTensor(Tensor):
    """A tensor made inside ``cr.inference_mode()``: ``t.is_inference()`` is ``True``;
    ``t.clone()`` gives a normal tensor.

    Example:
        >>> import chainrule as cr
        >>> with cr.inference_mode():
        ...     t = cr.zeros(2)
        >>> t.is_inference(), isinstance(t, cr.Tensor)
        (True, True)
    """

    __slots__ = ()
    _inference = True

    def __del__(self, _live=grad_mode._INFERENCE_LIVE):
        _live[0] -= 1  # none left: recording stops looking for inference tensors


grad_mode._INFERENCE_CLASS[Tensor] = InferenceTensor
