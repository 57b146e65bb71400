"""``chainrule.utils``: PyTorch's ``torch.utils`` path (``chainrule.utils.data``)."""

from chainrule.utils import data


def __getattr__(name: str):
    if name == "checkpoint":  # on first use, as the other submodules that torch.utils has
        import importlib

        return importlib.import_module("chainrule.utils.checkpoint")
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")


__all__ = ["checkpoint", "data"]
