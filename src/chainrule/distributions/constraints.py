"""``torch.distributions.constraints``: the sets a parameter or a sample must lie in.

``check(value)`` answers elementwise (over the constraint's event dimensions) with a boolean
tensor, as PyTorch's does; the reprs are PyTorch's, since validation errors print them.
Checks run on plain arrays: they never take part in a gradient.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Constraint",
    "boolean",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer_interval",
    "interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_definite",
    "positive_integer",
    "real",
    "real_vector",
    "simplex",
    "unit_interval",
]


def _array(value) -> np.ndarray:
    return np.asarray(value)


def _answer(result):
    from chainrule.tensor import Tensor

    return Tensor._make(np.asarray(result, dtype=bool), False)


class Constraint:
    """A region of valid values: ``check(value)`` is True where ``value`` is inside."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        return _answer(self._check(_array(value)))

    def _check(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__[1:] + "()"


class _Dependent(Constraint):
    """A constraint that depends on other parameters; it cannot be checked on its own."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    @property
    def is_discrete(self) -> bool:
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    """Whether ``constraint`` is a dependent one (skipped by argument validation)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is also a dependent constraint (``support`` of ``Uniform`` and the like):
    on the class it reads as a dependent constraint, on an instance as the real one."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """``base_constraint`` with its rightmost ``reinterpreted_batch_ndims`` dims as an event."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int):
        if not isinstance(base_constraint, Constraint):
            raise TypeError(
                f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
            )
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError(
                f"reinterpreted_batch_ndims must be an int >= 0, got {reinterpreted_batch_ndims}"
            )
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def _check(self, value):
        result = self.base_constraint._check(value)
        if result.ndim < self.reinterpreted_batch_ndims:
            expected = self.base_constraint.event_dim + self.reinterpreted_batch_ndims
            raise ValueError(f"Expected value.dim() >= {expected} but got {value.ndim}")
        kept = result.shape[: result.ndim - self.reinterpreted_batch_ndims]
        return result.reshape(kept + (-1,)).all(-1)

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def _check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


def _show(bound) -> str:
    # as PyTorch's f-string of a bound: a 0-d tensor prints as its number
    if hasattr(bound, "dim") and bound.dim() == 0:
        return str(bound.item())
    return str(bound)


def _bound(bound):
    # a bound may be a tensor (Uniform's low and high); compare as arrays
    return np.asarray(bound) if hasattr(bound, "shape") else bound


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, value):
        low, high = _bound(self.lower_bound), _bound(self.upper_bound)
        return (value % 1 == 0) & (low <= value) & (value <= high)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__[1:]}(lower_bound={_show(self.lower_bound)}, "
            f"upper_bound={_show(self.upper_bound)})"
        )


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, value):
        return (value % 1 == 0) & (value >= _bound(self.lower_bound))

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={_show(self.lower_bound)})"


class _Real(Constraint):
    def _check(self, value):
        return value == value  # False for NaNs


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, value):
        return _bound(self.lower_bound) < value

    def __repr__(self) -> str:
        return f"{self.__class__.__name__[1:]}(lower_bound={_show(self.lower_bound)})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, value):
        return _bound(self.lower_bound) <= value


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, value):
        return value < _bound(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={_show(self.upper_bound)})"


class _Interval(_IntegerInterval):
    is_discrete = False

    def _check(self, value):
        return (_bound(self.lower_bound) <= value) & (value <= _bound(self.upper_bound))


class _HalfOpenInterval(_IntegerInterval):
    is_discrete = False

    def _check(self, value):
        return (_bound(self.lower_bound) <= value) & (value < _bound(self.upper_bound))


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, value):
        return (value >= 0).all(-1) & (np.abs(value.sum(-1) - 1) < 1e-6)


class _LowerTriangular(Constraint):
    event_dim = 2

    def _check(self, value):
        return (np.tril(value) == value).reshape(value.shape[:-2] + (-1,)).all(-1)


class _LowerCholesky(_LowerTriangular):
    def _check(self, value):
        positive_diagonal = (np.diagonal(value, axis1=-2, axis2=-1) > 0).all(-1)
        return super()._check(value) & positive_diagonal


class _PositiveDefinite(Constraint):
    event_dim = 2

    def _check(self, value):
        batch = value.shape[:-2]
        if value.shape[-1] != value.shape[-2]:
            return np.zeros(batch, dtype=bool)
        symmetric = np.isclose(value, np.swapaxes(value, -1, -2), atol=1e-6).all((-2, -1))
        if not symmetric.all():
            return symmetric
        return np.linalg.eigvalsh(value).min(-1) > 0


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
