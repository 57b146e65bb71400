"""Files: models (``save`` / ``load``), training checkpoints, the tensor file format and atomic
writes. Nothing here ever unpickles or evaluates anything read from a file."""

from chainrule.io.atomic import atomic_write, clean_stale_temps
from chainrule.io.format import TensorFile, read, write

__all__ = [
    "TensorFile",
    "atomic_write",
    "clean_stale_temps",
    "load",
    "load_checkpoint",
    "load_optimizer",
    "read",
    "read_metadata",
    "save",
    "save_checkpoint",
    "write",
]


def __getattr__(name):
    # model and checkpoint import chainrule.nn, which loads on first use only
    if name in ("save", "load", "read_metadata"):
        from chainrule.io import model

        return getattr(model, name)
    if name in ("save_checkpoint", "load_checkpoint"):
        from chainrule.io import checkpoint

        return getattr(checkpoint, name)
    if name == "load_optimizer":
        from chainrule.io import optimizer_state

        return optimizer_state.load_optimizer
    if name in ("model", "checkpoint", "optimizer_state"):
        import importlib

        return importlib.import_module(f"chainrule.io.{name}")
    raise AttributeError(f"module 'chainrule.io' has no attribute {name!r}")
