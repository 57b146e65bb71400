"""Matrix products: matmul (1-D, 2-D, batched) and the fused linear layer."""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule._gemm import DOT_BELOW, product, product_plus
from chainrule.autograd.function import Function, GraphStep
from chainrule.errors import DTypeError, DTypeNotImplementedError, ShapeError
from chainrule.ops._util import operand, operands
from chainrule.tensor import Tensor

# Large float products go through MKL where the optional wheel is installed (see _mkl.py).
# Decided once here, and the size is checked inline before any call, so the small products of
# tiny networks pay two global lookups for it (a helper function cost 4 % of a seed-network step).
_MKL_ON = _mkl.available()
_BIG = _mkl.MIN_WORK


class MatMul(Function):
    """a @ b, following NumPy's matmul rules for 1-D and stacked operands."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "@"
    formulas = ("∂(a@b)/∂a = grad @ bᵀ", "∂(a@b)/∂b = aᵀ @ grad")
    inputs_read_for = {"a": (0, 1), "b": (1, 0)}  # name: (input, whose gradient reads it)

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 2 and b.ndim == 2:
            if _MKL_ON and a.shape[0] * b.size >= _BIG:
                return _mkl.dot(a, b)
            return product(a, b)  # dot or matmul, whichever costs less (chainrule._gemm)
        return a @ b

    def backward(self, grad):
        a, b = self.a, self.b
        grad_a = grad_b = None
        if a.ndim == 1 and b.ndim == 1:
            grad_a = grad * b if self.needs_grad[0] else None
            grad_b = grad * a if self.needs_grad[1] else None
            return grad_a, grad_b
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
            if self.needs_grad[0]:
                grad_a = (grad[..., None, :] @ np.swapaxes(b, -1, -2))[..., 0, :]
            if self.needs_grad[1]:
                grad_b = a[:, None] * grad[..., None, :]
            return grad_a, grad_b
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
            if self.needs_grad[0]:
                grad_a = grad[..., :, None] * b
            if self.needs_grad[1]:
                grad_b = (np.swapaxes(a, -1, -2) @ grad[..., :, None])[..., 0]
            return grad_a, grad_b
        if a.ndim == 2 and b.ndim == 2:
            if _MKL_ON and a.shape[0] * b.size >= _BIG:
                grad_a = _mkl.dot(grad, b.T) if self.needs_grad[0] else None
                grad_b = _mkl.dot(a.T, grad) if self.needs_grad[1] else None
            else:
                grad_a = product(grad, b.T) if self.needs_grad[0] else None
                grad_b = product(a.T, grad) if self.needs_grad[1] else None
            return grad_a, grad_b
        if self.needs_grad[0]:
            grad_a = grad @ np.swapaxes(b, -1, -2)
        if self.needs_grad[1]:
            grad_b = np.swapaxes(a, -1, -2) @ grad
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        a, b = self.parents
        if a.ndim == 1 and b.ndim == 1:  # a dot product: grad is 0-d
            return grad * b, grad * a
        if a.ndim == 1:  # (k,) @ (..., k, n): the engine sums grad_a's batch dims away
            grad_a = (grad.unsqueeze(-2) @ b.swapaxes(-1, -2)).squeeze(-2)
            return grad_a, a.unsqueeze(-1) * grad.unsqueeze(-2)
        if b.ndim == 1:  # (..., m, k) @ (k,)
            grad_b = (a.swapaxes(-1, -2) @ grad.unsqueeze(-1)).squeeze(-1)
            return grad.unsqueeze(-1) * b, grad_b
        return grad @ b.swapaxes(-1, -2), a.swapaxes(-1, -2) @ grad


class Linear(Function):
    """x @ Wᵀ + b, fused: one op, three gradients (PyTorch's layout, W is (out, in)).

    For one output neuron j: z_j = Σ_k W_jk · x_k + b_j, so ∂z_j/∂W_jk = x_k, ∂z_j/∂x_k = W_jk,
    ∂z_j/∂b_j = 1.
    """

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "linear"
    formulas = ("W", "x", "1")
    inputs_read_for = {"x": (0, 1), "weight": (1, 0), "bias": (2, None)}  # (input, reader)
    grads_match_inputs = True
    # forward's result and backward's gradients are new arrays this op keeps no hold on, so
    # cr.compile may let their one reader write over them (autograd/compile_reuse.py)
    fresh_output = True
    fresh_grads = True

    # Matrix products go through chainrule._gemm.product: ndarray.dot for small ones (it skips
    # the matmul ufunc's dispatch, 0.3 against 0.7 µs for one row), np.matmul for large ones
    # (dot zero-fills its output first, a pass BLAS repeats). Both give the same bits.
    @property
    def next_functions(self) -> tuple:
        """PyTorch's nodes below a linear layer: ``addmm(bias, x, weight.t())`` (``mm`` without
        a bias), the weight behind ``TBackward0``, and for an input that is not 2-D the
        reshape (``ViewBackward0`` ...) on top of them."""
        links = Function.next_functions.fget(self)
        if len(links) < 2:  # released
            return links
        weight = (GraphStep("TBackward0", (links[1],)), 0) if links[1][0] is not None else links[1]
        x, rank = links[0], self.parents[0].array.ndim
        if rank != 2 and x[0] is not None:  # PyTorch makes the input 2-D first
            step = "UnsqueezeBackward0" if rank == 1 and len(links) == 2 else "ViewBackward0"
            x = (GraphStep(step, (x,)), 0)
        inner = (links[2], x, weight) if len(links) == 3 else (x, weight)
        if rank == 2:
            return inner
        return ((GraphStep("AddmmBackward0" if len(links) == 3 else "MmBackward0", inner), 0),)

    # True where this call's three products (m×n out, m×k and n×k gradients) are all under
    # chainrule._gemm's thresholds, so each is the dot that product would choose: a tiny
    # network's step then tests its sizes once per layer, not once per product.
    dot_only = False

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        if x.ndim != 2:
            out = product(x, weight.T)
        else:
            m, (n, k) = x.shape[0], weight.shape
            if m * n < DOT_BELOW and m * k < DOT_BELOW and n * k < DOT_BELOW:
                self.dot_only = True
                out = x.dot(weight.T)
            elif _MKL_ON and m * weight.size >= _BIG:
                out = _mkl.dot(x, weight.T)
            elif bias is not None and m > 1:
                return product_plus(x, weight.T, bias)  # the bias added in the product's pass
            else:
                out = product(x, weight.T)
        if bias is None:
            return out
        if out.ndim == 2 and out.shape[0] == 1:
            # One example (online SGD): add the bias as a (1, out) row. Same-shape operands
            # skip NumPy's broadcasting set-up (0.4 µs of a 0.6-µs add this small), and one
            # element is summed fresh (NumPy 2.4 is 3x slower in place on a single element).
            row = bias.reshape(1, -1)
            if out.size == 1:
                return out + row
            out += row
            return out
        out += bias  # in place: out is ours, no second allocation
        return out

    def backward(self, grad):
        needs = self.needs_grad
        if grad.ndim == 2 and self.x.ndim == 2:  # the usual (batch, out): no reshapes
            if self.dot_only:  # (see dot_only above)
                grad_x = grad.dot(self.weight) if needs[0] else None
                grad_w = grad.T.dot(self.x) if needs[1] else None
            elif _MKL_ON and grad.shape[0] * self.weight.size >= _BIG:
                grad_x = _mkl.dot(grad, self.weight) if needs[0] else None
                grad_w = _mkl.dot(grad.T, self.x) if needs[1] else None
            else:
                grad_x = product(grad, self.weight) if needs[0] else None
                grad_w = product(grad.T, self.x) if needs[1] else None
            if len(needs) == 2:
                return grad_x, grad_w
            if not needs[2]:
                return grad_x, grad_w, None
            # a one-row gradient is its own column sum: a copy, not a 0.7-µs reduction
            return grad_x, grad_w, (grad[0].copy() if grad.shape[0] == 1 else column_sum(grad))
        grad_x = grad @ self.weight if needs[0] else None
        grad_w = grad_b = None
        if needs[1]:
            if grad.ndim > 2:
                grad_w = grad.reshape(-1, grad.shape[-1]).T @ self.x.reshape(-1, self.x.shape[-1])
            elif grad.ndim == 2:
                grad_w = grad.T @ self.x
            else:
                grad_w = np.outer(grad, self.x)
        if len(needs) == 3 and needs[2]:
            grad_b = grad.sum(axis=tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad.copy()
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        x, weight = self.parents[0], self.parents[1]
        flat_x = x.reshape(-1, x.shape[-1])
        flat_g = grad.reshape(-1, grad.shape[-1])
        grads = (grad @ weight, flat_g.T @ flat_x)
        return grads + ((flat_g.sum(0),) if len(self.parents) == 3 else ())


_ONES: dict = {}  # read-only vectors of ones by (length, dtype)


def _ones(n: int, dtype) -> np.ndarray:
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:  # batch sizes seen in one process are few; bound it anyway
            _ONES.clear()
        ones = np.ones(n, dtype)
        ones.flags.writeable = False
        _ONES[key] = ones
    return ones


def column_sum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array, as the BLAS product ones · a.

    NumPy sums along axis 0 one row at a time; the product runs in BLAS, a quarter to a third
    of the time for 32 to 128 rows (measured 3.1 against 0.7 µs on 128 × 128). It adds in a
    different order, so the last bits may differ from ``np.sum``'s.
    """
    return _ones(a.shape[0], a.dtype).dot(a)


def row_sum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a 2-D array, as the BLAS product a · ones (see :func:`column_sum`;
    2.4 against 0.4 µs on 128 × 10)."""
    return a.dot(_ones(a.shape[1], a.dtype))


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's rules (1-D vectors, stacks of matrices, broadcasting).

    Raises:
        ShapeError: the inner dimensions differ, e.g. ``matmul got (8, 4) @ (3, 2): inner
            dimensions 4 and 3 differ``.
        DTypeError: the operands have different dtypes (PyTorch promotes none, not even int
            with float), or are bool.
    """
    if not isinstance(a, Tensor):
        a = operand(a, b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = operand(b, a)
    _check_matmul_dtypes(a.array.dtype, b.array.dtype)
    sa, sb = a.array.shape, b.array.shape
    if not sa or not sb:
        raise ShapeError(f"matmul got {sa} @ {sb}: both operands need at least one dimension")
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner_b:
        raise ShapeError(f"matmul got {sa} @ {sb}: inner dimensions {sa[-1]} and {inner_b} differ")
    if len(sa) > 2 and len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError(
                f"matmul got {sa} @ {sb}: batch dimensions {sa[:-2]} and {sb[:-2]} do not broadcast"
            ) from None
    return MatMul.apply(a, b)


def _check_matmul_dtypes(dtype_a: np.dtype, dtype_b: np.dtype) -> None:
    """PyTorch's matrix products take one dtype and no bool: promoting ``int @ float`` would give
    an answer PyTorch code never sees."""
    if dtype_a != dtype_b:
        raise DTypeError(
            f"expected m1 and m2 to have the same dtype, but got: {dtype_a} != {dtype_b} (as in "
            f"PyTorch, matrix products do not promote); convert one first, e.g. a.to(b.dtype)"
        )
    if dtype_a == np.bool_:
        raise DTypeNotImplementedError(
            "matmul has no kernel for bool tensors (as in PyTorch); convert first, e.g. "
            "a.int() @ b.int()"
        )


def linear(x=None, weight=None, bias=None, *, input=None) -> Tensor:  # noqa: A002
    """Affine map x @ weightᵀ + bias as one fused op (PyTorch's weight layout).

    Args:
        x: input tensor or array; also by PyTorch's keyword ``input=`` (``F.linear(input=x,
            weight=w, bias=b)``).
        weight: weight of shape (out_features, in_features).
        bias: optional bias of shape (out_features,).

    Shape:
        x: (..., in_features) -> (..., out_features).

    Example:
        >>> import chainrule as cr
        >>> cr.functional.linear(cr.ones(2, 3), cr.ones(4, 3)).shape
        (2, 4)
    """
    if input is not None or not (isinstance(x, Tensor) and isinstance(weight, Tensor)):
        x, weight = operands(*_linear_operands(x, weight, input))
    if weight.array.ndim == 1 and bias is None:  # PyTorch's x @ w: one output, dropped
        return linear(x, weight.reshape(1, -1)).squeeze(-1)
    if weight.array.ndim != 2:
        raise ShapeError(
            f"linear expects a 2-D weight (out, in), or a 1-D weight (in,) without bias, got "
            f"shape {weight.shape}" + ("" if bias is None else " with a bias")
        )
    out_features, in_features = weight.array.shape
    if x.array.ndim == 0 or x.array.shape[-1] != in_features:
        raise ShapeError(
            f"linear: Linear(in_features={in_features}) got input of shape {x.shape}; "
            f"expected (..., {in_features})"
        )
    if x.array.dtype != weight.array.dtype:  # PyTorch refuses this too; never promote silently
        fix = f"convert the input (x.to(cr.{weight.array.dtype}))"
        if x.array.dtype.kind == "f":
            fix += f" or the model (model.to(cr.{x.array.dtype}))"
        raise DTypeError(
            f"Linear got input of dtype {x.array.dtype} for weights of dtype "
            f"{weight.array.dtype}; {fix}"
        )
    if bias is None:
        return Linear.apply(x, weight)
    if not isinstance(bias, Tensor):
        bias = Tensor._make(np.asarray(bias, dtype=weight.array.dtype), False)
    if bias.array.shape != (out_features,):
        raise ShapeError(
            f"linear: Linear(out_features={out_features}) got bias of shape {bias.shape}; "
            f"expected ({out_features},)"
        )
    return Linear.apply(x, weight, bias)


def _linear_operands(x, weight, input):  # noqa: A002
    """``linear``'s input and weight where a call named ``input=`` or left one out (the
    positional call never comes here with tensors)."""
    if input is not None:
        if x is not None:
            raise TypeError("linear() got multiple values for argument 'input' (x)")
        x = input
    missing = [name for name, value in (("input", x), ("weight", weight)) if value is None]
    if missing:
        raise TypeError(f"linear() missing required argument(s): {', '.join(missing)}")
    return x, weight


def dot(a, b) -> Tensor:
    """The inner product of two 1-D tensors of one length and dtype, as ``torch.dot``.

    Example:
        >>> import chainrule as cr
        >>> cr.dot(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).item()
        11.0
    """
    a, b = _vector(a, "dot"), _vector(b, "dot")
    if a.shape != b.shape:
        raise ShapeError(f"dot: the vectors have lengths {a.shape[0]} and {b.shape[0]}")
    if a.dtype != b.dtype:
        raise DTypeError(f"dot: the vectors have dtypes {a.dtype} and {b.dtype}; convert one")
    return matmul(a, b)


def outer(a, b) -> Tensor:
    """The outer product a_i · b_j of two 1-D tensors, as ``torch.outer``.

    Example:
        >>> import chainrule as cr
        >>> cr.outer(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).tolist()
        [[3.0, 4.0], [6.0, 8.0]]
    """
    a, b = _vector(a, "outer"), _vector(b, "outer")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def mm(a, b) -> Tensor:
    """The product of two matrices, (n, m) @ (m, p) -> (n, p), as ``torch.mm``: both must be
    2-D (``matmul`` also takes vectors and stacks).

    Example:
        >>> import chainrule as cr
        >>> cr.mm(cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0], [4.0]])).tolist()
        [[11.0]]
    """
    a = a if isinstance(a, Tensor) else operand(a)
    b = b if isinstance(b, Tensor) else operand(b, a)
    for name, x in (("self", a), ("mat2", b)):
        if x.ndim != 2:  # matmul would take a vector or a stack: another answer than PyTorch's
            raise ShapeError(f"mm: {name} must be a matrix (2-D), got shape {x.shape}")
    return matmul(a, b)


def _vector(x, op: str) -> Tensor:
    x = operand(x)
    if x.ndim != 1:
        raise ShapeError(f"{op}: needs 1-D tensors, got shape {x.shape}")
    return x


def bmm(a, b) -> Tensor:
    """A batch of matrix products, (b, n, m) @ (b, m, p) -> (b, n, p), as ``torch.bmm``: both
    must be 3-D with the same batch size (no broadcasting; ``matmul`` broadcasts)."""
    from chainrule.ops._util import operand

    a, b = operand(a), operand(b)
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm needs two 3-D tensors, got shapes {a.shape} and {b.shape}")
    if a.array.dtype != b.array.dtype:
        raise DTypeError(
            f"bmm needs one dtype (as PyTorch), got {a.array.dtype} and {b.array.dtype}; convert "
            f"first, e.g. b.to(a.dtype)"
        )
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(
            f"bmm: shapes {a.shape} and {b.shape} do not fit (b, n, m) @ (b, m, p): the batch "
            f"sizes and the inner sizes must match"
        )
    return Bmm.apply(a, b)


class Bmm(MatMul):
    """``torch.bmm``'s product: MatMul's rules, under PyTorch's own node name (BmmBackward0,
    where ``matmul`` of 3-D tensors records UnsafeViewBackward0)."""

    named_by_call = False
