"""``cr.compile(model)``: PyTorch's ``torch.compile(model)`` for an ``nn.Module``.

PyTorch returns an ``OptimizedModule`` that behaves as the model (same outputs and gradients)
and holds it as ``_orig_mod``: its ``state_dict`` names start with ``_orig_mod.``, and any
other attribute is the model's. chainrule returns the same wrapper, running the model eagerly:
``cr.compile``'s compiled tier compiles whole training steps (a function returning the loss,
docs/compile.md), not a module's forward, so scripts that write ``model = torch.compile(model)``
run unchanged with the same numbers.
"""

from __future__ import annotations

from chainrule.nn.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """``model`` behind PyTorch's wrapper: calls, parameters and attributes are the model's."""

    def __init__(self, mod: Module):
        super().__init__()
        self._orig_mod = mod

    def forward(self, *args, **kwargs):
        """The model's own call (its hooks included)."""
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod":  # not set yet (inside __init__ or a copy)
                raise
            return getattr(self._orig_mod, name)
