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

    def __setstate__(self, state):
        """A copy (``copy.deepcopy``, pickle) is one more live inference tensor."""
        grad_mode._INFERENCE_LIVE[0] += 1
        for name, value in (state[1] if isinstance(state, tuple) else state or {}).items():
            setattr(self, name, value)

    def __del__(self, _live=grad_mode._INFERENCE_LIVE):
        if _live[0] > 0:  # none left: recording stops looking for inference tensors
            _live[0] -= 1


grad_mode._INFERENCE_CLASS[Tensor] = InferenceTensor
