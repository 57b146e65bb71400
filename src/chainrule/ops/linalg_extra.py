"""Products and distances with PyTorch's names: addmm, baddbmm, addcmul, addcdiv, kron, cross
and cdist.

All but ``cdist`` are compositions of existing differentiable ops (matmul, *, /, +, indexing,
stack, reshape), so their gradients are those ops'. ``cdist`` is one op: its ∞-norm gives every
tied largest entry the full gradient, as PyTorch, where ``norm(p=inf)`` shares it.
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import check_broadcast, operand, operands
from chainrule.ops.elementwise import Add, _binary
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor


def _scalar(value, name: str, op: str, dtype: np.dtype):
    """A Python number from ``value`` (a number or a one-element tensor). PyTorch truncates a
    fractional factor for integer tensors (``addmm(..., beta=0.5)`` on int64 uses 0); that
    silently different answer is refused here instead."""
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if dtype.kind != "f" and value != int(value):
        raise DTypeError(
            f"{op}: {name}={value!r} is not an integer, and the tensors are {dtype}; convert "
            f"them to float first (PyTorch would silently truncate {name} to "
            f"{int(value)})"
        )
    return int(value) if dtype.kind != "f" else value


def _same_dtype(op: str, **tensors: Tensor) -> np.dtype:
    """PyTorch's matrix ops refuse mixed dtypes rather than promote: so does chainrule."""
    dtypes = {name: t.dtype for name, t in tensors.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        raise DTypeError(f"{op}: the tensors must have one dtype, got {listed}")
    return next(iter(dtypes.values()))


def _zeroed(t: Tensor) -> Tensor:
    """Zeros of ``t``'s shape that stay in the graph with gradient 0: what PyTorch makes of a
    term whose factor is 0 (its value, even NaN or ∞, is ignored, and its gradient is 0)."""
    from chainrule.ops.indexing import masked_fill

    if not t.requires_grad:
        return Tensor._make(np.zeros(t.shape, t.dtype), False)
    return masked_fill(t, np.ones(t.shape, bool), 0)


class Addmm(Add):
    """addmm's last step, beta·input + alpha·(mat1 @ mat2): PyTorch's one ``AddmmBackward0``
    (a subclass of :class:`Add`, for the name only)."""


class Baddbmm(Add):
    """baddbmm's last step: PyTorch's ``BaddbmmBackward0``."""


class Addcmul(Add):
    """addcmul's last step, input + value·tensor1·tensor2: PyTorch's ``AddcmulBackward0``."""


class Addcdiv(Add):
    """addcdiv's last step, input + value·tensor1/tensor2: PyTorch's ``AddcdivBackward0``."""


def _scaled_sum(op: str, bias: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """beta·bias + alpha·product, with PyTorch's (BLAS's) rule that a factor of 0 drops its
    term entirely: beta = 0 ignores ``bias`` even where it is NaN, alpha = 0 the product."""
    try:
        if np.broadcast_shapes(bias.shape, product.shape) != product.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {bias.shape} does not broadcast to the product's shape "
            f"{product.shape}"
        ) from None
    beta = _scalar(beta, "beta", op, bias.dtype)
    alpha = _scalar(alpha, "alpha", op, bias.dtype)
    bias = _zeroed(bias) if beta == 0 else bias if beta == 1 else bias * beta
    product = _zeroed(product) if alpha == 0 else product if alpha == 1 else product * alpha
    return _binary(Addmm if op == "addmm" else Baddbmm, bias, product)


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's names
    """beta·input + alpha·(mat1 @ mat2), as ``torch.addmm``: ``mat1`` (n, m) and ``mat2``
    (m, p) are matrices, ``input`` broadcasts to (n, p), all three of one dtype. beta = 0
    ignores ``input`` (NaN included) and alpha = 0 the product, as PyTorch; their gradients are
    then 0.

    Example:
        >>> import chainrule as cr
        >>> cr.addmm(cr.tensor([1.0, 2.0]), cr.ones(1, 3), cr.ones(3, 2), beta=0.5).tolist()
        [[3.5, 4.0]]
    """
    from chainrule.ops.matmul import matmul

    bias, m1, m2 = operand(input), operand(mat1), operand(mat2)
    if m1.ndim != 2 or m2.ndim != 2:
        raise ShapeError(f"addmm needs two matrices (2-D), got shapes {m1.shape} and {m2.shape}")
    if m1.shape[1] != m2.shape[0]:
        raise ShapeError(
            f"addmm: mat1 {m1.shape} and mat2 {m2.shape} do not fit (n, m) @ (m, p): the inner "
            f"sizes differ"
        )
    _same_dtype("addmm", input=bias, mat1=m1, mat2=m2)
    return _scaled_sum("addmm", bias, matmul(m1, m2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:  # noqa: A002
    """beta·input + alpha·(batch1 @ batch2) for a batch of matrices, as ``torch.baddbmm``:
    (b, n, m) @ (b, m, p) with one batch size, ``input`` broadcast to (b, n, p); beta = 0 and
    alpha = 0 drop their terms as in :func:`addmm`.

    Example:
        >>> import chainrule as cr
        >>> cr.baddbmm(cr.zeros(3), cr.ones(2, 1, 4), cr.ones(2, 4, 3), alpha=2).shape
        (2, 1, 3)
    """
    from chainrule.ops.matmul import bmm

    bias, b1, b2 = operand(input), operand(batch1), operand(batch2)
    _same_dtype("baddbmm", input=bias, batch1=b1, batch2=b2)
    return _scaled_sum("baddbmm", bias, bmm(b1, b2), beta, alpha)


def _three(op: str, *tensors) -> list[Tensor]:
    """The three operands cast to one dtype by PyTorch's promotion, before any arithmetic (so
    int64 factors of a float32 input are multiplied in float32, as PyTorch does)."""
    tensors = [operand(t) for t in tensors]
    probe = tensors[0].array
    for t in tensors[1:]:
        dtype = _dtype.result_type(probe, t.array)
        probe = np.empty((1,) if probe.ndim or t.array.ndim else (), dtype)
    return [t if t.dtype == probe.dtype else t.to(probe.dtype) for t in tensors]


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002
    """input + value·tensor1·tensor2, elementwise with broadcasting, as ``torch.addcmul``.

    Example:
        >>> import chainrule as cr
        >>> cr.addcmul(cr.tensor([1.0]), cr.tensor([2.0]), cr.tensor([3.0]), value=0.5).tolist()
        [4.0]
    """
    x, t1, t2 = _three("addcmul", input, tensor1, tensor2)
    value = _scalar(value, "value", "addcmul", x.dtype)
    return _binary(Addcmul, x, value * t1 * t2)  # PyTorch's order: (value·t1)·t2


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:  # noqa: A002
    """input + value·tensor1 / tensor2, elementwise with broadcasting, as ``torch.addcdiv``.
    Two integer tensors are refused, as PyTorch refuses them (integer division is ambiguous).

    Example:
        >>> import chainrule as cr
        >>> cr.addcdiv(cr.tensor([1.0]), cr.tensor([3.0]), cr.tensor([2.0]), value=2).tolist()
        [4.0]
    """
    if all(operand(t).dtype.kind in "iub" for t in (tensor1, tensor2)):
        raise DTypeError(
            "addcdiv: tensor1 and tensor2 are both integer tensors; integer division is not "
            "supported (as in PyTorch): convert one to float, or write "
            "input + value * cr.trunc(tensor1 / tensor2)"
        )
    x, t1, t2 = _three("addcdiv", input, tensor1, tensor2)
    value = _scalar(value, "value", "addcdiv", x.dtype)
    return _binary(Addcdiv, x, value * t1 / t2)


def kron(a, b) -> Tensor:
    """The Kronecker product, as ``torch.kron``: the shapes are padded with leading 1s to one
    length, and block (i, j, ...) of the result is a[i, j, ...]·b; differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.kron(cr.tensor([1, 2]), cr.tensor([1, 10])).tolist()
        [1, 10, 2, 20]
    """
    a, b = operands(a, b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    # a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...): every product, blocks in order
    spread_a = a.reshape(tuple(n for k in sa for n in (k, 1)))
    spread_b = b.reshape(tuple(n for k in sb for n in (1, k)))
    return (spread_a * spread_b).reshape(tuple(i * j for i, j in zip(sa, sb)))


def cross(a, b, dim=None) -> Tensor:
    """The cross product of 3-vectors along ``dim``, as ``torch.linalg.cross`` (the two
    broadcast; they need one dtype and one number of dimensions); differentiable.

    Without ``dim``, PyTorch's ``torch.cross`` takes the first dimension of size 3 and
    ``torch.linalg.cross`` the last one: chainrule takes the last when the two agree and
    otherwise asks for ``dim`` (rather than silently answer one of them).

    Example:
        >>> import chainrule as cr
        >>> cr.cross(cr.tensor([1.0, 0.0, 0.0]), cr.tensor([0.0, 1.0, 0.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    from chainrule.ops.linalg._named import LinalgCrossStack

    a, b = operand(a), operand(b)
    _same_dtype("cross", a=a, b=b)
    if a.ndim != b.ndim:
        raise ShapeError(
            f"cross: the inputs need the same number of dimensions, got shapes {a.shape} and "
            f"{b.shape}; unsqueeze one first"
        )
    if a.ndim == 0:
        raise ShapeError("cross: needs vectors of length 3, got 0-d tensors")
    if dim is None:
        first = next((i for i, n in enumerate(a.shape) if n == 3), None)
        if first is not None and first != a.ndim - 1:
            raise ShapeError(
                f"cross: dim not given and shape {a.shape} has a dimension of size 3 before "
                f"the last: torch.cross would use dim {first}, torch.linalg.cross dim -1; "
                f"pass dim="
            )
        dim = -1
    axis = _one_axis(a, dim, "cross")
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ShapeError(
            f"cross: dimension {dim} must have length 3 in both inputs, got shapes {a.shape} "
            f"and {b.shape}"
        )
    check_broadcast("cross", a.array, b.array)
    head = (slice(None),) * axis
    a0, a1, a2 = (a[head + (i,)] for i in range(3))
    b0, b1, b2 = (b[head + (i,)] for i in range(3))
    parts = (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
    return LinalgCrossStack.apply(*parts, axis=axis % a.ndim)  # (PyTorch's one node's name)


class Cdist(Function):
    """dist[..., i, j] = ‖x1[..., i, :] − x2[..., j, :]‖_p for p = 1, 2 or ∞, with d the
    difference.  Local derivative for x1 (x2: the negative): sign(d) for p = 1; d / dist for
    p = 2 (0 where dist = 0, as PyTorch); for p = ∞ sign(d) at every entry where |d| = dist
    (ties each get the full gradient, as PyTorch's cdist), else 0."""

    label = "cdist"
    formulas = ("sign(d) · ∂‖d‖_p/∂|d|", "−sign(d) · ∂‖d‖_p/∂|d|")

    def forward(self, x1, x2, p):
        d = x1[..., :, None, :] - x2[..., None, :, :]  # (..., P, R, M)
        if p == 1:
            dist = np.sum(np.abs(d), axis=-1)
        elif p == 2:
            dist = np.sqrt(np.sum(d * d, axis=-1))
        else:
            dist = np.max(np.abs(d), axis=-1, initial=0)  # |d| ≥ 0: 0 is the empty max
        self.d, self.dist, self.p = d, dist, p
        return dist

    def backward(self, grad):
        d, dist = self.d, self.dist[..., None]
        if self.p == 1:
            local = np.sign(d)
        elif self.p == 2:
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where(dist == 0, np.zeros((), d.dtype), d / dist)
        else:
            local = np.sign(d) * (np.abs(d) == dist)
        g = grad[..., None] * local
        grad1 = np.sum(g, axis=-2) if self.needs_grad[0] else None  # over the rows of x2
        grad2 = -np.sum(g, axis=-3) if self.needs_grad[1] else None  # over the rows of x1
        return grad1, grad2

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where
        from chainrule.ops.piecewise_link import tie

        x1, x2 = self.parents
        d, dist = self.d, self.dist[..., None]
        if self.p == 1:
            local = Tensor._make(np.sign(d), False)
        elif self.p == 2:
            difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)
            with np.errstate(divide="ignore", invalid="ignore"):
                distance = Cdist.apply(x1, x2, p=2).unsqueeze(-1)
                local = where(dist == 0, 0, difference / distance)
        else:
            local = Tensor._make(np.sign(d) * (np.abs(d) == dist), False)
        g = grad.unsqueeze(-1) * local
        if self.p != 2:  # a constant local derivative: tied to the inputs, as PyTorch's
            g = tie(g, x1, x2)
        return g.sum(axis=-2), -g.sum(axis=-3)


_CDIST_P = {1.0: 1, 2.0: 2, float("inf"): float("inf")}
_COMPUTE_MODES = (
    "use_mm_for_euclid_dist_if_necessary",
    "use_mm_for_euclid_dist",
    "donot_use_mm_for_euclid_dist",
)


def cdist(x1, x2, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between every row of ``x1`` (B..., P, M) and every row of ``x2``
    (B..., R, M), as ``torch.cdist``: shape (B..., P, R), the batch dims broadcast. p is 1, 2
    or ``float("inf")``; the gradient at distance 0 is 0, as PyTorch's.

    It always subtracts directly (PyTorch's ``compute_mode="donot_use_mm_for_euclid_dist"``);
    PyTorch's default uses ‖a‖² + ‖b‖² − 2a·b for p = 2 when P or R exceeds 25, whose values
    differ by rounding and whose gradient at distance 0 is not 0. Memory: B·P·R·M elements.

    Example:
        >>> import chainrule as cr
        >>> cr.cdist(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()
        [[5.0, 1.0]]
    """
    a, b = operand(x1), operand(x2)
    if a.ndim < 2 or b.ndim < 2:
        raise ShapeError(
            f"cdist needs at least 2-D tensors (rows of points), got shapes {a.shape} and "
            f"{b.shape}; unsqueeze(0) a single point"
        )
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise DTypeError(f"cdist needs floating-point tensors, got {a.dtype} and {b.dtype}")
    _same_dtype("cdist", x1=a, x2=b)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            f"cdist: x1 {a.shape} and x2 {b.shape} need the same number of columns (the last "
            f"dim), got {a.shape[-1]} and {b.shape[-1]}"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"cdist: the batch dims of {a.shape} and {b.shape} do not broadcast together"
        ) from None
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(
            f"cdist: compute_mode must be one of {_COMPUTE_MODES}, got {compute_mode!r}"
        )
    key = float(p) if isinstance(p, (int, float, np.integer, np.floating)) else None
    if isinstance(p, bool) or key not in _CDIST_P:
        raise ValueError(
            f"cdist: p={p!r} is not supported; chainrule has p=1, 2 and float('inf') (for "
            f"others write (x1[..., :, None, :] - x2[..., None, :, :]).abs().pow(p).sum(-1))"
        )
    return Cdist.apply(a, b, p=_CDIST_P[key])
