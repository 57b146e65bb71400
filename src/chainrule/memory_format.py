"""PyTorch's memory formats: ``x.to(memory_format=cr.channels_last)``, ``x.contiguous(...)``,
``x.is_contiguous(...)``, ``x.clone(memory_format=...)``.

A format is how an image batch's values are laid out in memory, never what they are: a
channels-last (N, C, H, W) tensor keeps its shape and values, and its memory runs N, H, W, C
(NumPy strides, as PyTorch's). Every op of chainrule takes either layout and gives the same
numbers, so code written for PyTorch's speed-ups (channels-last convolutions) runs unchanged.
``Module.to(memory_format=...)`` keeps the parameters' layout (only the speed would differ).
"""

from __future__ import annotations

__all__ = [
    "channels_last",
    "channels_last_3d",
    "contiguous_format",
    "memory_format",
    "preserve_format",
]


class memory_format:  # noqa: N801 - PyTorch's class name (torch.memory_format)
    """One of the layouts ``cr.contiguous_format``, ``cr.channels_last`` (4-D),
    ``cr.channels_last_3d`` (5-D) and ``cr.preserve_format``."""

    __slots__ = ("name", "rank")

    def __init__(self, name: str, rank: int | None):
        self.name, self.rank = name, rank

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def axes(self, ndim: int) -> tuple[int, ...]:
        """The order of the axes in memory, outermost first: (0, 2, 3, 1) for channels_last."""
        if self.rank is None:
            return tuple(range(ndim))
        return (0, *range(2, ndim), 1)


contiguous_format = memory_format("contiguous_format", None)
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)
preserve_format = memory_format("preserve_format", None)


def check(fmt, op: str) -> memory_format:
    if not isinstance(fmt, memory_format):
        raise TypeError(
            f"{op}: memory_format must be cr.contiguous_format, cr.channels_last, "
            f"cr.channels_last_3d or cr.preserve_format, got {fmt!r}"
        )
    return fmt


def is_in(array, fmt: memory_format) -> bool:
    """Whether ``array``'s memory runs in ``fmt``'s order without gaps (PyTorch's
    ``is_contiguous(memory_format=fmt)``; ``preserve_format`` asks about row order, as there)."""
    if fmt.rank is not None and array.ndim != fmt.rank:
        return False
    return bool(array.transpose(fmt.axes(array.ndim)).flags.c_contiguous)


def laid_out(x, fmt, op: str):
    """``x`` with its memory in ``fmt``'s order: itself when it already is, else a copy that
    is (in the graph, as ``contiguous()``); ``preserve_format`` keeps ``x``."""
    fmt = check(fmt, op)
    if fmt is preserve_format:
        return x
    if fmt.rank is not None and x.ndim != fmt.rank:
        raise RuntimeError(
            f"{op}: required rank {fmt.rank} tensor to use {fmt.name} format, got shape "
            f"{x.shape}, as in PyTorch"
        )
    if is_in(x.array, fmt):
        return x
    axes = fmt.axes(x.ndim)
    back = tuple(axes.index(i) for i in range(x.ndim))
    return x.permute(*axes).clone().permute(*back)
