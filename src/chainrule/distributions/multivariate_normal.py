"""``torch.distributions.MultivariateNormal``."""

from __future__ import annotations

import math

import numpy as np

from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.utils import lazy_property
from chainrule.tensor import Tensor

__all__ = ["MultivariateNormal"]


def _solve_lower(tril: Tensor, rhs: Tensor) -> Tensor:
    """``tril⁻¹ · rhs`` for lower-triangular ``tril``, batch dimensions broadcast."""
    from chainrule.linalg import solve_triangular

    batch = np.broadcast_shapes(tuple(tril.shape[:-2]), tuple(rhs.shape[:-2]))
    tril = tril.expand(batch + tuple(tril.shape[-2:]))
    rhs = rhs.expand(batch + tuple(rhs.shape[-2:]))
    return solve_triangular(tril, rhs, upper=False)


def batch_mahalanobis(tril: Tensor, x: Tensor) -> Tensor:
    """``xᵀ (L Lᵀ)⁻¹ x`` over broadcast batch dimensions: ``|L⁻¹ x|²``."""
    return _solve_lower(tril, x.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _half_log_det(tril: Tensor) -> Tensor:
    return tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    # PyTorch's route: the Cholesky factor of the flipped precision gives L⁻¹ without an inverse
    from chainrule import eye, flip
    from chainrule.linalg import cholesky

    flipped = cholesky(flip(precision, (-2, -1)))
    inverse = flip(flipped, (-2, -1)).transpose(-2, -1)
    return _solve_lower(inverse, eye(precision.shape[-1], dtype=precision.dtype))


class MultivariateNormal(Distribution):
    """A multivariate normal distribution, from a covariance matrix, a precision matrix or the
    lower-triangular Cholesky factor ``scale_tril`` (exactly one of the three).

    Args:
        loc: mean, shape ``(..., n)``.
        covariance_matrix: positive-definite ``(..., n, n)``.
        precision_matrix: positive-definite ``(..., n, n)``.
        scale_tril: lower-triangular with a positive diagonal, ``(..., n, n)``.
        validate_args: check the matrix and, in ``log_prob``, the value.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ):
        from chainrule.linalg import cholesky

        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {
            "covariance_matrix": covariance_matrix,
            "precision_matrix": precision_matrix,
            "scale_tril": scale_tril,
        }
        given = {name: matrix for name, matrix in given.items() if matrix is not None}
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        ((name, matrix),) = given.items()
        if matrix.dim() < 2:
            label = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(
                f"{label} must be at least two-dimensional, with optional leading batch dimensions"
            )
        n = loc.shape[-1]
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, matrix.expand(batch_shape + tuple(matrix.shape[-2:])))
        self.loc = loc.expand(batch_shape + (n,))
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        cov_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        return self._finish_expand(new, MultivariateNormal, batch_shape)

    def _matrix_shape(self) -> tuple[int, ...]:
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.transpose(-2, -1)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        from chainrule.linalg import inv

        # (L Lᵀ)⁻¹ read from the whole of L, as PyTorch's cholesky_inverse (whose gradient
        # reaches L's upper triangle too)
        tril = self._unbroadcasted_scale_tril
        return inv(tril @ tril.transpose(-2, -1)).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        variance = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return variance.expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + L·ε`` with ``ε ~ N(0, I)`` from chainrule's generator."""
        from chainrule import randn

        eps = randn(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        distance = batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + distance) - half_log_det

    def entropy(self):
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return entropy if len(self._batch_shape) == 0 else entropy.expand(self._batch_shape)


def kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """KL(p ‖ q) of two multivariate normals (PyTorch's formula)."""
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = _half_log_det(q_tril) - _half_log_det(p_tril)
    n = p.event_shape[0]
    solved = _solve_lower(q_tril, p_tril)
    term2 = solved.pow(2).sum((-2, -1))
    term3 = batch_mahalanobis(q_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)
