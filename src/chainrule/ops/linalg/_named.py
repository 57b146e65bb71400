"""The last op of a linalg function, under the name PyTorch gives the function's grad_fn.

PyTorch computes ``linalg.qr``, ``eigh``, ``svd``, ``solve`` (for a vector or with
``left=False``), ``solve_triangular(left=False)``, ``pinv``, ``lstsq``, ``cross`` and
``slogdet``'s sign in one node (and ends ``tensorinv`` with a reshape of its own kind);
chainrule ends them with a reshape, a transpose, a product, a stack or an add. These
subclasses do the same work and only carry PyTorch's name (``autograd/grad_fn_names.py``), so
``grad_fn.name()`` agrees."""

from __future__ import annotations

from chainrule.ops.elementwise import Add
from chainrule.ops.matmul import MatMul
from chainrule.ops.shape import Reshape, Stack, Transpose
from chainrule.tensor import Tensor


class LinalgQrOutput(Reshape):
    """Q or R read out of ``linalg.qr``'s packed result: ``LinalgQrBackward0``."""


class LinalgEighOutput(Reshape):
    """The eigenvalues or eigenvectors out of ``linalg.eigh``: ``LinalgEighBackward0``."""


class LinalgSvdOutput(Reshape):
    """U, S or Vh out of ``linalg.svd``: ``LinalgSvdBackward0``."""


class SolveVectorOutput(Reshape):
    """``linalg.solve``'s X for a vector B (the column dropped): ``LinalgSolveExBackward0``."""


class SolveTransposedOutput(Transpose):
    """``linalg.solve(left=False)``'s X, Xᵀ transposed back: ``LinalgSolveExBackward0``."""


class SolveTriangularTransposedOutput(Transpose):
    """``solve_triangular(left=False)``'s X: ``LinalgSolveTriangularBackward0``."""


class LinalgPinvProduct(MatMul):
    """``linalg.pinv``'s last product, V diag(1/S) · Uᵀ: ``LinalgPinvBackward0``."""


class LinalgLstsqProduct(MatMul):
    """``linalg.lstsq``'s solution pinv(A) · B: ``LinalgLstsqBackward0``."""


class LinalgLstsqVectorOutput(Reshape):
    """``linalg.lstsq``'s solution for a vector B: ``LinalgLstsqBackward0``."""


class LinalgCrossStack(Stack):
    """``linalg.cross``'s three components stacked: ``LinalgCrossBackward0``."""


class TensorinvOutput(Reshape):
    """``linalg.tensorinv``'s inverse back in the tensor's shape: PyTorch reshapes its
    column-major inverse, ``ReshapeAliasBackward0``."""


class SlogdetSign(Add):
    """``slogdet``'s sign kept in the graph (gradient 0): ``LinalgSlogdetBackward0``."""


def reshaped(x: Tensor, shape: tuple, op: type) -> Tensor:
    """``x`` in ``shape`` through the named reshape ``op``."""
    return op.apply(x, shape=tuple(shape))


def transposed(x: Tensor, op: type) -> Tensor:
    """Each matrix of ``x`` transposed through the named transpose ``op``."""
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return op.apply(x, axes=tuple(axes))
