"""``utils.checkpoint``: PyTorch's activation checkpointing calls, run without the memory trade.

PyTorch's ``checkpoint(fn, *args)`` keeps only the inputs of ``fn`` during the forward pass and
runs ``fn`` again in the backward pass, trading time for memory; the values and gradients are
those of calling ``fn``. chainrule calls ``fn`` once and keeps its graph, so a model written
with checkpoints trains with the same numbers and the memory of an unchecked model (chainrule
has no recomputation). Random draws inside ``fn`` (dropout) happen once, which is what
PyTorch's ``preserve_rng_state=True`` guarantees for its second run.
"""

from __future__ import annotations

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]

_REENTRANT_WARNING = (  # PyTorch's words
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
    "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants."
)


def checkpoint(
    function,
    *args,
    use_reentrant: bool | None = None,
    context_fn=None,
    determinism_check: str = "default",
    debug: bool = False,
    preserve_rng_state: bool = True,
    **kwargs,
):
    """``function(*args, **kwargs)``: the same values and gradients as PyTorch's checkpoint
    (see the module docstring); PyTorch's warning when ``use_reentrant`` is not given."""
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
    if use_reentrant and kwargs:  # PyTorch's check
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):  # noqa: A002
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules) one after another on
    ``input``, as PyTorch's ``checkpoint_sequential`` computes it."""
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(
            f"checkpoint_sequential: segments must be a positive int, got {segments!r}"
        )
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for module in modules:
        input = module(input)  # noqa: A001
    return input
