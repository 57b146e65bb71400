"""Tensor's reductions as methods (``sum``, ``mean``, ``max``, ``var``, ``argmax``, ``any``,
...), as a mixin that :class:`Tensor` inherits ahead of :class:`TensorMethods`.

Each delegates to the chainrule function of the same name; nothing here keeps state
(``__slots__ = ()``). The op modules are bound by :func:`_bind` once they can import Tensor.
"""

from __future__ import annotations

from chainrule.tensor_methods import ALL_DIMS


class TensorReductions:
    """``x.sum()``, ``x.max(dim)``, ``x.any()``, ... with PyTorch's signatures (NumPy's
    ``axis``/``keepdims`` accepted too, so ``np.sum(tensor)`` works)."""

    __slots__ = ()

    def sum(self, axis=ALL_DIMS, keepdims=False, *, dim=ALL_DIMS, keepdim=None, dtype=None):
        return _ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim, dtype=dtype)

    def mean(self, axis=ALL_DIMS, keepdims=False, *, dim=ALL_DIMS, keepdim=None, dtype=None):
        return _ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim, dtype=dtype)

    def max(self, dim=None, keepdim=None, *, axis=None, keepdims=False):
        """See :func:`chainrule.max`: ``x.max(dim)`` is ``(values, indices)``, as in PyTorch."""
        return _ops.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=None, *, axis=None, keepdims=False):
        return _ops.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def var(
        self, axis=None, unbiased=None, keepdim=None, *, dim=None, keepdims=None, correction=None
    ):
        """Variance with PyTorch's default ``correction=1`` and positional order
        ``var(dim, unbiased, keepdim)`` (see :func:`chainrule.var`)."""
        return _ops.var(
            self, axis, unbiased, keepdim, dim=dim, keepdims=keepdims, correction=correction
        )

    def std(
        self, axis=None, unbiased=None, keepdim=None, *, dim=None, keepdims=None, correction=None
    ):
        return _ops.std(
            self, axis, unbiased, keepdim, dim=dim, keepdims=keepdims, correction=correction
        )

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def any(self, dim=None, keepdim=False, *, axis=None, out=None, keepdims=None):
        """Whether any element is true (along ``dim``): bool (uint8 for uint8), as in PyTorch.
        (``axis``/``keepdims`` are accepted so ``np.any(tensor)`` works too.)"""
        return _any(self, dim if axis is None else axis, keepdim if keepdims is None else keepdims)

    def all(self, dim=None, keepdim=False, *, axis=None, out=None, keepdims=None):
        """Whether every element is true (along ``dim``): a bool tensor, as in PyTorch."""
        return _all(self, dim if axis is None else axis, keepdim if keepdims is None else keepdims)


# bound by _bind(): they import Tensor themselves
_ops = _any = _all = None


def _bind() -> None:
    """Called by tensor.py once the ops can be imported (they need Tensor defined first)."""
    global _ops, _any, _all
    from chainrule import ops as _ops
    from chainrule.ops.predicates import all as _all
    from chainrule.ops.predicates import any as _any
