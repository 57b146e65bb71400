"""The limits on a saved architecture, and the argument checks its layer schemas use: each
check returns the clean value or raises :class:`~chainrule.errors.ModelFormatError`."""

from __future__ import annotations

import math
import re

from chainrule.errors import ModelFormatError

MAX_DEPTH = 64  # containers inside containers
MAX_MODULES = 100_000
MAX_SIZE = 10**8  # any one layer dimension
MAX_PARAMETERS = 10**9  # the whole model (4 GB of float32)
MAX_NDIM = 8  # LayerNorm's normalized_shape
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
SHARED = "Shared"  # a reference to a layer written earlier in the file (weights shared)


def _fail(where: str, problem: str) -> ModelFormatError:
    return ModelFormatError(f"model config: {where}: {problem}")


def _show(value) -> str:
    """A short repr for messages (a hostile number may have too many digits to print)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(value, where):
    if not _is_int(value) or not 0 <= value <= MAX_SIZE:
        raise _fail(where, f"expected an integer in [0, {MAX_SIZE}], got {_show(value)}")
    return value


def _positive_size(value, where):
    if _size(value, where) < 1:
        raise _fail(where, f"expected an integer >= 1, got {value!r}")
    return value


def _dim(value, where):
    if not _is_int(value) or not -MAX_NDIM * 8 <= value < MAX_NDIM * 8:
        raise _fail(where, f"expected a small integer dimension, got {_show(value)}")
    return value


def _dim_or_none(value, where):
    return None if value is None else _dim(value, where)


def _bool(value, where):
    if not isinstance(value, bool):
        raise _fail(where, f"expected true or false, got {_show(value)}")
    return value


def _finite(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"expected a finite number, got {_show(value)}")
    return float(value)


def _positive(value, where):
    if _finite(value, where) <= 0:
        raise _fail(where, f"expected a positive number, got {value!r}")
    return float(value)


def _probability(value, where):
    if not 0.0 <= _finite(value, where) <= 1.0:
        raise _fail(where, f"expected a number in [0, 1], got {value!r}")
    return float(value)


def _real(value, where):
    """A finite number kept as written (Embedding's max_norm, which PyTorch takes as is)."""
    _finite(value, where)
    return value


def _norm_order(value, where):
    """A p-norm's p: a finite number, or "inf" / "-inf" (JSON has no infinities)."""
    if value in ("inf", "-inf"):
        return float(value)
    return _real(value, where)


def _optional(check):
    def optional(value, where):
        return None if value is None else check(value, where)

    return optional


def _choice(*options):
    def choice(value, where):
        if not isinstance(value, str) or value not in options:
            raise _fail(where, f"expected one of {list(options)}, got {_show(value)}")
        return value

    return choice


def _shape(value, where):
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_NDIM:
        raise _fail(where, f"expected a list of 1 to {MAX_NDIM} sizes, got {_show(value)}")
    return [_positive_size(n, where) for n in value]


def _index(value, where):
    if not _is_int(value) or not -MAX_SIZE <= value < MAX_SIZE:
        raise _fail(where, f"expected an integer index, got {_show(value)}")
    return value


def _sizes(minimum: int, allow_none: bool = False, most: int = 2):
    def sizes(value, where):
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= most:
            counts = "1 or 2" if most == 2 else f"1 to {most}"
            raise _fail(where, f"expected an int or a list of {counts} ints, got {_show(value)}")
        for item in items:
            if item is None and allow_none:
                continue
            if not _is_int(item) or not minimum <= item <= MAX_SIZE:
                raise _fail(
                    where, f"expected integers in [{minimum}, {MAX_SIZE}], got {_show(value)}"
                )
        return value

    return sizes


def _conv_padding(value, where, most: int = 2):
    if isinstance(value, str):
        return _choice("same", "valid")(value, where)
    return _sizes(0, most=most)(value, where)


def _unflattened(value, where):
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_NDIM:
        raise _fail(where, f"expected a list of 1 to {MAX_NDIM} sizes, got {_show(value)}")
    for n in value:
        if not _is_int(n) or not (n == -1 or 1 <= n <= MAX_SIZE):
            raise _fail(where, f"expected sizes >= 1 (or one -1), got {_show(value)}")
    return tuple(value)  # JSON has no tuples; a tuple is the usual spelling (and the repr's)


def _upsample_size(value, where):
    items = value if isinstance(value, list) else [value]
    if value is not None and not (
        1 <= len(items) <= 3 and all(_is_int(n) and 1 <= n <= MAX_SIZE for n in items)
    ):
        raise _fail(where, f"expected None, an int or a list of up to 3 ints, got {_show(value)}")
    return value


def _upsample_scale(value, where):
    items = value if isinstance(value, list) else [value]
    if value is not None and not (1 <= len(items) <= 3 and all(_positive(n, where) for n in items)):
        raise _fail(where, f"expected None, a number or a list of up to 3, got {_show(value)}")
    return value


def _pad_sizes(value, where):
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 6 or not all(_is_int(n) and abs(n) <= MAX_SIZE for n in items):
        raise _fail(where, f"expected an int or a list of up to 6 ints, got {_show(value)}")
    return value


_dtype = _choice("float32", "float64")


class Nested:
    """An argument that is another layer's config (``TransformerEncoder``'s ``norm``, ...),
    checked and built by the registry itself rather than by a check function.

    Args:
        attr: the attribute the built layer keeps it under (its dotted path in the model).
        kinds: the layer types allowed there, or ``None`` for any.
        optional: ``None`` is allowed (no layer).
        repeat: the argument that says how many deep copies the layer makes of it (the copies
            are counted against the limits; the layer given itself is not kept).
    """

    def __init__(self, attr: str, kinds: tuple | None = None, optional: bool = True,
                 repeat: str | None = None):  # fmt: skip
        self.attr, self.kinds, self.optional, self.repeat = attr, kinds, optional, repeat
