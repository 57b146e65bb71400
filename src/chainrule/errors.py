"""Typed errors users can catch. Each message names the problem and, where possible, the fix."""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError, RuntimeError):
    """An op or layer got operands whose shapes do not fit together. A ``RuntimeError`` too,
    the class PyTorch raises for a shape mismatch, so ``except RuntimeError:`` catches it."""


class DimensionError(ShapeError, IndexError):
    """A dim (axis) out of range for the tensor, e.g. ``x.sum(5)`` of a 2-D tensor. An
    ``IndexError`` too, the class PyTorch raises for "Dimension out of range", so both
    ``except IndexError:`` and ``except RuntimeError:`` catch it."""


class ElementCountError(ShapeError):
    """``item()``, ``float(t)`` or ``bool(t)`` of a tensor without exactly one element (a
    ``RuntimeError``, as PyTorch raises)."""


class IndexOutOfRangeError(ShapeError, IndexError):
    """An index past the end of a dimension: an ``IndexError``, as in PyTorch."""


class DTypeError(ChainruleError, TypeError, RuntimeError):
    """An op or layer got data of a dtype it cannot work with (a ``RuntimeError`` too, as
    PyTorch raises for most dtype mismatches)."""


class DTypeNotImplementedError(DTypeError, NotImplementedError):
    """An op PyTorch has no kernel for in this dtype (``//``, ``%``, ``fmod`` and ``**`` of bool
    tensors): a ``NotImplementedError``, as PyTorch's "... not implemented for 'Bool'"."""


class IntegerDivisionError(ChainruleError, ZeroDivisionError, RuntimeError):
    """An integer divided by zero (``//``, ``%``, ``fmod``, ``div(rounding_mode=...)``):
    integers have no inf or NaN. A ``RuntimeError`` too, the class PyTorch raises
    ("ZeroDivisionError"), and a ``ZeroDivisionError``, as chainrule's was."""


class ArgumentError(ChainruleError, ValueError, RuntimeError):
    """An argument's value is not one the op takes (``scatter_reduce(reduce="add")``): a
    ``RuntimeError``, the class PyTorch raises there, and a ``ValueError``, as chainrule's was."""


class ZeroDivisorError(ArgumentError, ZeroDivisionError):
    """An argument that a layer divides by is 0 (``GroupNorm(0, C)``): a ``ZeroDivisionError``,
    the class PyTorch raises there, and a ``ValueError``, as chainrule's was."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of a type the method does not take where PyTorch raises ``ValueError``
    (``Module.train("yes")``): a ``ValueError``, as PyTorch's, and a ``TypeError``, as
    chainrule's was."""


class GraphError(ChainruleError, RuntimeError):
    """The autograd graph cannot do what was asked (freed graph, non-scalar backward, ...)."""


class ModelFormatError(ChainruleError, ValueError):
    """A model or checkpoint file is not a valid chainrule file; nothing from it was loaded."""


class StateDictError(ModelFormatError, ShapeError, RuntimeError):
    """``load_state_dict`` got a state that does not fit the model: missing or unexpected
    keys, or a tensor of another shape; nothing was loaded. A ``RuntimeError`` too, as
    PyTorch raises, so ``except RuntimeError:`` written for PyTorch catches it."""


class DataError(ChainruleError, ValueError):
    """A data file or array is malformed (missing cells, ragged rows, unknown column, ...)."""


class NonFiniteError(ChainruleError, FloatingPointError, RuntimeError):
    """A loss, gradient or parameter became NaN or infinite.

    Also a ``RuntimeError``, the class PyTorch raises in the same places
    (``clip_grad_norm_(error_if_nonfinite=True)``, anomaly detection), so ``except
    RuntimeError:`` written for PyTorch catches it.
    """


class LinAlgError(ChainruleError, RuntimeError):
    """A linear-algebra op met a matrix it cannot work with: singular for ``inv`` / ``solve``,
    not positive-definite for ``cholesky``. A ``RuntimeError``, as PyTorch's
    ``torch.linalg.LinAlgError``, so ``except RuntimeError:`` written for PyTorch catches it."""


class NotSupportedError(NotImplementedError, AttributeError):
    """A PyTorch name chainrule does not have (yet); the message names the nearest spelling.

    It is an ``AttributeError`` too, so ``hasattr(torch, name)`` stays ``False`` and
    ``getattr(torch, name, default)`` returns the default.
    """
