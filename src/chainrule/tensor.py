"""Tensor: an n-dimensional array that remembers how it was computed, for backpropagation."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd import engine
from chainrule.autograd import grad_face as _grad_face
from chainrule.autograd import graph_backward as _graph_backward
from chainrule.autograd import hooks as _autograd_hooks
from chainrule.autograd import partial as _partial
from chainrule.autograd.grad_fn_names import keep_name as _keep_name
from chainrule.autograd.grad_mode import _INFERENCE_BLOCKS, _GradMode, inference_tensor
from chainrule.autograd.grad_mode import refuse_outside_inference as _refuse_inference_write
from chainrule.autograd.inplace import GRAPH_WRITES as _GRAPH_WRITES
from chainrule.autograd.inplace import InplaceMethods
from chainrule.autograd.inplace import bump as _bump_version
from chainrule.autograd.inplace import records as _records
from chainrule.autograd.inplace import refuse_grad_operand as _refuse_grad_operand
from chainrule.errors import DimensionError, DTypeError, ElementCountError, GraphError
from chainrule.tensor_methods import TensorMethods
from chainrule.tensor_reductions import TensorReductions
from chainrule.tensor_reductions import _bind as _bind_reductions


class Tensor(InplaceMethods, TensorReductions, TensorMethods):
    """An array of numbers with an optional gradient and a link to the op that made it.

    Make tensors with :func:`chainrule.tensor`; ops on tensors build the graph that
    :meth:`backward` walks to fill in ``.grad`` of every leaf that requires it.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([2.0, -1.0], requires_grad=True)
        >>> loss = (w * w).sum()
        >>> loss.backward()
        >>> w.grad.tolist()
        [4.0, -2.0]
    """

    __slots__ = (
        "array",
        "grad_array",
        "_requires_grad",  # TensorMethods.requires_grad reads it; assigning checks for a leaf
        "_ctx",
        "name",
        "_writes",
        "_written_at",
        "_untracked",
        "_grad_face",  # weak references between a tensor and the one its .grad hands out,
        "_grad_of",  # both ways (autograd.grad_face)
        "__weakref__",
    )
    _is_parameter = False  # nn.Parameter says True (cr.compile treats it as a leaf)
    _inference = False  # InferenceTensor says True (made inside cr.inference_mode())
    __hash__ = object.__hash__  # identity, as in PyTorch (used as optimizer state keys)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.array
        self.array = _dtype.as_array(data, dtype)
        self.grad_array = None
        self._requires_grad = False
        self._ctx = None
        self.name = None
        if _INFERENCE_BLOCKS[0]:
            inference_tensor(self)
        if requires_grad is not False:  # requires_grad_ refuses a non-bool, as PyTorch
            self.requires_grad_(requires_grad)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool) -> Tensor:
        """Wrap an op's output array without any conversion (the engine's fast path)."""
        t = object.__new__(cls)
        t.array = data
        t.grad_array = None
        t._requires_grad = requires_grad
        t._ctx = None
        t.name = None
        return inference_tensor(t) if _INFERENCE_BLOCKS[0] else t

    # ---- attributes -------------------------------------------------------------------
    # ``array`` and ``grad_array`` are the raw NumPy arrays; library code reads them directly.
    # ``.data`` and ``.grad`` are PyTorch's faces of the same memory: tensors that share the
    # arrays, so ``p.grad.zero_()`` and ``p.data.normal_()`` change the parameter itself.
    @property
    def data(self) -> Tensor:
        """The values as a tensor cut from the graph, sharing memory (PyTorch's ``.data``).

        Changing it in place changes this tensor without autograd noticing, exactly as in
        PyTorch; prefer ``with cr.no_grad():`` and the in-place methods for parameter updates.
        """
        data = inference_tensor(Tensor._make(self.array, False), like=self)
        data._untracked = True  # its writes are not stamped on the memory (autograd.inplace)
        return data

    @data.setter
    def data(self, value) -> None:
        array = value.array if isinstance(value, Tensor) else np.asarray(value)
        _dtype.check_kind(array.dtype, "Tensor.data =")
        self.array = array
        if getattr(self, "_grad_of", None) is not None:  # another tensor's .grad
            _grad_face.data_replaced(self, array)
        _bump_version(self, memory=False)  # a new array: nothing saved was written

    @property
    def grad(self) -> Tensor | None:
        """∂loss/∂self after ``backward()``: one tensor sharing the accumulated array (the same
        object on every read while the array stays: ``p.grad is p.grad``), or ``None``."""
        if self.grad_array is None and self._ctx is not None:
            _autograd_hooks.warn_non_leaf_grad(self)
        return _grad_face.grad_of(self)

    @grad.setter
    def grad(self, value) -> None:
        _grad_face.set_grad(self, value)  # shape and dtype checked, as PyTorch does

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor has seen (PyTorch's ``_version``)."""
        return getattr(self, "_writes", 0)

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op that produced this tensor (``None`` for leaves)."""
        ctx = self._ctx
        if ctx is not None and ctx.expands:  # one node for several layers: the real ones now
            ctx = ctx.expand(self)
        return _keep_name(ctx)  # its PyTorch name, read while the op's inputs are linked

    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    def size(self, dim: int | None = None):
        """The shape (PyTorch's ``size()``), or the length of dimension ``dim`` (negative counts
        from the end). A bool, float or other non-integer ``dim`` is a ``TypeError`` and a dim
        past the last a :class:`~chainrule.DimensionError` (an ``IndexError``), as in PyTorch."""
        shape = self.array.shape
        if dim is None:
            return shape
        if isinstance(dim, Tensor) and dim.array.ndim == 0 and dim.array.dtype.kind in "iu":
            dim = int(dim.array)  # a 0-d integer tensor is its value, as PyTorch reads it
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size(): dim must be an int, not {type(dim).__name__}")
        if not shape:
            raise DimensionError(f"size(): dim {dim} given, but the tensor has no dimensions")
        if not -len(shape) <= dim < len(shape):
            raise DimensionError(
                f"size(): dimension out of range (expected to be in range of "
                f"[{-len(shape)}, {len(shape) - 1}], but got {dim})"
            )
        return shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def dim(self) -> int:
        return self.array.ndim

    # ---- autograd -----------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate: add ∂self/∂leaf to ``leaf.grad`` for every leaf that requires grad.

        Args:
            gradient: ∂L/∂self, same shape as ``self``; optional when ``self`` has one element.
            retain_graph: keep the graph's saved values so ``backward`` can run through it again.
            create_graph: record the backward pass too: each ``.grad`` becomes a tensor in the
                graph, to be differentiated again (a gradient penalty); keeps the graph.
            inputs: only these tensors get ``.grad`` (and only ops leading to them run).
        """
        if create_graph:  # .grad becomes a tensor in the graph (autograd/graph_backward.py)
            if inputs is not None:
                inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
                _partial.check_inputs(inputs)
            _graph_backward.backward([self], [gradient], inputs, retain_graph)
            return
        backward = engine.backward if inputs is None else _partial.backward
        backward(self, gradient, retain_graph, inputs)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Ask (or stop asking) for this leaf's gradient; floating-point tensors only."""
        if not isinstance(requires_grad, bool):  # PyTorch's check: "False" would be truthy
            raise TypeError(
                f"requires_grad_(): argument 'requires_grad' must be bool, not "
                f"{type(requires_grad).__name__}"
            )
        if requires_grad and self.array.dtype.kind != "f":
            raise DTypeError(
                f"only floating-point tensors can require gradients, got dtype {self.array.dtype}; "
                f"make it with dtype='float32' or 'float64'"
            )
        if not requires_grad and self._ctx is not None:
            raise GraphError("requires_grad_(False) is only allowed on leaves; use .detach()")
        if requires_grad:
            _refuse_inference_write(self, "requires_grad_(True)")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        _autograd_hooks.retain_grad(self)  # returns None, as PyTorch's

    def register_hook(self, hook):
        """Call ``hook(grad)`` with ∂loss/∂self during backward; a tensor it returns replaces
        the gradient. Returns a handle whose ``remove()`` takes the hook away (autograd.hooks)."""
        return _autograd_hooks.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` on this leaf right after backward has added to its ``.grad``
        (e.g. to step an optimizer per parameter while backward goes on)."""
        return _autograd_hooks.register_post_accumulate_grad_hook(self, hook)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, requires no grad)."""
        return inference_tensor(Tensor._make(self.array, False), like=self)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``.grad`` to ``None``)."""
        self.grad_array = self._grad_face = None

    # ---- conversion ---------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ElementCountError(f"item() needs one element, got shape {self.shape}")
        return self.array.item()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shared memory). As in PyTorch, a tensor that requires grad
        refuses while grad mode is on: use ``t.detach().numpy()``, ``no_grad`` or ``force=True``."""
        if self._requires_grad and not force and _GradMode.enabled:
            message = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()"
            raise GraphError(message + " instead.")
        return self.array

    def tolist(self):
        return self.array.tolist()

    def __array__(self, dtype=None, copy=None):
        array = self.array
        if not isinstance(array, np.ndarray):  # a NumPy scalar from a full reduction
            array = np.asarray(array)
        if copy:
            return np.array(array, dtype=dtype, copy=True)
        return array if dtype is None else array.astype(dtype, copy=False)

    def astype(self, dtype) -> Tensor:
        """A copy converted to ``dtype`` (differentiable between float dtypes)."""
        return _ops.cast(self, _dtype.resolve_dtype(dtype))

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ElementCountError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous; "
                f"use .any() or .all()"
            )
        return bool(self.array)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.array, separator=", ", precision=4, prefix="tensor(")
        extras = []
        dtype, default = self.array.dtype, _dtype.get_default_dtype()
        # PyTorch names every dtype but the default float dtype, int64 and bool, and in an
        # empty tensor (no values to tell an int64 by) every dtype but the default
        if dtype != default and (self.array.size == 0 or dtype not in (_dtype.int64, _dtype._BOOL)):
            extras.append(f"dtype={dtype}")
        if self.array.size == 0 and self.array.ndim != 1:
            extras.insert(0, f"size={self.array.shape}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name().rpartition('::')[2]}>")  # as PyTorch
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ---- operators ----------------------------------------------------------------------
    def __radd__(self, other):
        return _ops.add(other, self)

    def __rsub__(self, other):
        return _ops.sub(other, self) if isinstance(other, Tensor) else _ops.rsub(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __rtruediv__(self, other):
        return _ops.div(other, self) if isinstance(other, Tensor) else _ops.rdiv(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __rpow__(self, base):
        return _ops.pow(base, self) if isinstance(base, Tensor) else _ops.rpow(self, base)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        if self.array.dtype == np.bool_:  # PyTorch refuses unary + on a mask
            raise DTypeError("The `+` operator, on a bool tensor is not supported (as in PyTorch)")
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.equal, self, other)

    def __ne__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.not_equal, self, other)

    def __lt__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.less, self, other)

    def __le__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.less_equal, self, other)

    def __gt__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.greater, self, other)

    def __ge__(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return _ops.compare(np.greater_equal, self, other)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        if _GradMode.enabled and _records(self, (value,)):  # autograd/inplace_graph.py
            _GRAPH_WRITES["setitem"](self, index, value)
            return
        if self.requires_grad and _GradMode.enabled:
            raise GraphError(
                "in-place assignment into a tensor that requires grad would corrupt its "
                "gradient; do it under cr.no_grad() or build a new tensor (cr.where, cr.cat)"
            )
        _refuse_inference_write(self, "index assignment")
        target, steps = self.array, torch_index(index)  # PyTorch's rules, where not NumPy's
        if len(steps) == 2:
            target = target[steps[0]]  # the integers first: a view into the tensor's memory
        from_tensor = isinstance(value, Tensor)
        if from_tensor:
            if value.requires_grad and _GradMode.enabled:
                _refuse_grad_operand("index assignment")
            value = value.array
        # uint8: -1 is 255; 300.0 raises; a shape that does not fit is a ShapeError
        _dtype.assign_checked(target, steps[-1], value, from_tensor)
        _bump_version(self)

    # ---- methods that mirror the functions (reductions: tensor_reductions.py) ---------
    def __and__(self, other):
        return _bitwise(np.bitwise_and, self, other)

    def __or__(self, other):
        return _bitwise(np.bitwise_or, self, other)

    def __xor__(self, other):
        return _bitwise(np.bitwise_xor, self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    @property
    def itemsize(self) -> int:
        return self.array.itemsize

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy functions on tensors: the arithmetic ones run as chainrule ops (so
        ``ndarray * tensor`` is a tensor in the graph); any other (``np.isfinite``) runs on the
        arrays and returns an array."""
        if method == "__call__" and not kwargs:
            op = _UFUNC_OPS.get(ufunc)
            if op is not None:
                return op(*inputs)
        arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            if any(isinstance(o, Tensor) for o in out):
                raise TypeError(
                    f"np.{ufunc.__name__}(..., out=tensor) is not supported; use the tensor's "
                    f"in-place methods (add_, mul_, copy_) so autograd sees the change"
                )
        return getattr(ufunc, method)(*arrays, **kwargs)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        return _ops.view(self, *shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, *axes):
        return _ops.transpose(self, *axes)

    def permute(self, *axes):
        return _ops.permute(self, *axes)

    def swapaxes(self, axis1, axis2):
        return _ops.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def squeeze(self, axis=None, *, dim=None):
        return _ops.squeeze(self, axis=axis, dim=dim)

    def unsqueeze(self, axis=None, *, dim=None):
        return _ops.unsqueeze(self, axis=axis, dim=dim)

    def split(self, split_size_or_sections, axis=0, *, dim=None):
        return _ops.split(self, split_size_or_sections, axis=axis, dim=dim)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def clip(self, min=None, max=None):
        return _ops.clip(self, min, max)

    def clamp(self, min=None, max=None):
        return _ops.clip(self, min, max)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def relu(self):
        return _ops.relu(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def tanh(self):
        return _ops.tanh(self)

    def leaky_relu(self, negative_slope=0.01):
        return _ops.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return _ops.elu(self, alpha)

    def gelu(self, approximate="none"):
        return _ops.gelu(self, approximate)

    def softplus(self, beta=1.0, threshold=20.0):
        return _ops.softplus(self, beta, threshold)

    def silu(self):
        return _ops.silu(self)

    def softmax(self, axis=-1, dtype=None, *, dim=None):
        return _ops.softmax(self, axis, dtype, dim=dim)

    def log_softmax(self, axis=-1, dtype=None, *, dim=None):
        return _ops.log_softmax(self, axis, dtype, dim=dim)

    def clone(self, *, memory_format=None):
        """A copy in the graph; ``memory_format`` (``cr.channels_last``, ...) its layout."""
        out = _ops.clone(self)
        return out if memory_format is None else out.contiguous(memory_format)


from chainrule import ops as _ops  # noqa: E402  (ops need Tensor defined first)

# The operators are the op functions themselves (a + b is ops.add(a, b)): one call, checked once.
Tensor.__add__ = _ops.add
Tensor.__sub__ = _ops.sub
Tensor.__mul__ = _ops.mul
Tensor.__truediv__ = _ops.div
Tensor.__matmul__ = _ops.matmul
Tensor.__pow__ = _ops.pow
Tensor.__floordiv__ = _ops.floor_divide
Tensor.__mod__ = _ops.remainder

# What a comparison accepts on the other side; anything else answers NotImplemented.
_OPERANDS = (Tensor, np.ndarray, np.generic, bool, int, float, list, tuple)


from chainrule.ops.getitem import torch_index  # noqa: E402
from chainrule.ops.predicates import bitwise as _bitwise  # noqa: E402

_bind_reductions()

_UFUNC_OPS = {
    np.add: _ops.add,
    np.subtract: _ops.sub,
    np.multiply: _ops.mul,
    np.true_divide: _ops.div,
    np.power: _ops.pow,
    np.matmul: _ops.matmul,
    np.negative: _ops.neg,
    np.absolute: _ops.abs,
    np.exp: _ops.exp,
    np.log: _ops.log,
    np.sqrt: _ops.sqrt,
    np.tanh: _ops.tanh,
    np.maximum: _ops.maximum,
    np.minimum: _ops.minimum,
    # a NumPy scalar on the left (np.float64(7.5) // t) lands here, not in __rfloordiv__
    np.floor_divide: _ops.floor_divide,
    np.remainder: _ops.remainder,
    **{
        u: (lambda a, b, _u=u: _bitwise(_u, a, b))
        for u in (np.bitwise_and, np.bitwise_or, np.bitwise_xor)
    },
    **{
        u: (lambda a, b, _u=u: _ops.compare(_u, a, b))
        for u in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal)
    },
}


_autograd_hooks.Tensor = _grad_face.Tensor = Tensor  # both hand gradients to user code
