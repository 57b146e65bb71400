"""Padding layers, PyTorch's fifteen: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``,
``ReplicationPad`` and ``CircularPad``, each for 1, 2 and 3 dimensions. Each is ``F.pad`` with
its mode and sizes fixed (chainrule.ops.pad_modes holds the modes)."""

from __future__ import annotations

from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.ops.indexing import pad


class _PadNd(Module):
    """``F.pad(x, padding, mode)``; ``padding`` one int for every side, or (left, right, top,
    bottom, front, back) for as many dimensions as the layer pads (from the last back)."""

    mode = "constant"
    dims = 1
    _config_args = ("padding",)

    def __init__(self, padding):
        super().__init__()
        count = 2 * self.dims
        if isinstance(padding, bool):
            raise TypeError(f"{type(self).__name__}: padding must be an int or ints")
        sizes = (padding,) * count if isinstance(padding, int) else tuple(padding)
        if len(sizes) != count or not all(isinstance(p, int) for p in sizes):
            raise ShapeError(
                f"{type(self).__name__} takes one int or {count} ints for padding, got {padding!r}"
            )
        self.padding = sizes

    def forward(self, x):
        return pad(x, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    _config_args = ("padding", "value")

    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        return pad(x, self.padding, value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    _config_args = ("padding",)

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _layer(base: type, name: str, dims: int, mode: str = "constant") -> type:
    doc = f"Pad the last {dims} dimension{'s' * (dims > 1)} as ``F.pad(x, padding, {mode!r})``."
    return type(name, (base,), {"dims": dims, "mode": mode, "__doc__": doc, "__module__": __name__})


ZeroPad1d, ZeroPad2d, ZeroPad3d = (_layer(_ZeroPadNd, f"ZeroPad{d}d", d) for d in (1, 2, 3))
ConstantPad1d, ConstantPad2d, ConstantPad3d = (
    _layer(_ConstantPadNd, f"ConstantPad{d}d", d) for d in (1, 2, 3)
)
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (
    _layer(_PadNd, f"ReflectionPad{d}d", d, "reflect") for d in (1, 2, 3)
)
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (
    _layer(_PadNd, f"ReplicationPad{d}d", d, "replicate") for d in (1, 2, 3)
)
CircularPad1d, CircularPad2d, CircularPad3d = (
    _layer(_PadNd, f"CircularPad{d}d", d, "circular") for d in (1, 2, 3)
)
LAYERS = (
    ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, CircularPad1d, CircularPad2d, CircularPad3d,
)  # fmt: skip
