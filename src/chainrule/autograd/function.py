"""The op base class: one subclass per op, forward and local derivative side by side."""

from __future__ import annotations

from chainrule.autograd.grad_mode import _GradMode
from chainrule.tensor import Tensor

_new_object = object.__new__
_ONE_NEEDS_GRAD = (True,)


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(self, *arrays, **params)`` returning one ``np.ndarray`` and
    ``backward(self, grad)`` returning one array (or ``None``) per input, in input order. The
    instance is the op's context: ``forward`` saves what ``backward`` needs as named attributes
    (``self.out``, ``self.x``). ``label`` names the op and ``formulas`` gives, per input, the
    local derivative ``∂out/∂input`` as text; the explainer prints both.

    ``backward`` may return the upstream ``grad`` itself (no copy) and may return arrays of a
    broadcast shape: the engine sums each gradient back to its input's shape. It must not return
    one freshly made array for two inputs, and must never modify ``grad`` in place. An op whose
    gradients always have exactly its inputs' shapes may set ``grads_match_inputs = True`` so
    the engine skips that check (``tests/test_engine.py`` verifies every op that does).
    """

    label = "?"
    formulas: tuple[str, ...] = ()

    # Engine bookkeeping. Class-level defaults keep op creation cheap: an op that records
    # itself sets only ``parents`` and ``needs_grad`` on the instance.
    parents: tuple = ()
    needs_grad: tuple = ()
    grad_out = None  # gradient of the loss w.r.t. this op's output, summed during backward
    retained = None  # weakref to an output tensor that asked for retain_grad()
    # True where backward always returns gradients of exactly the inputs' shapes (no
    # broadcasting to undo): the engine then skips the shape check for each input.
    grads_match_inputs = False
    freed = False
    _mark = None

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        """Run the op; record it in the graph if grad mode is on and an input needs grad."""
        fn = cls()
        # Ops take one to three tensors: unpacking them by hand saves the list and the generator
        # that a general loop costs (about a third of a small op's overhead).
        n_inputs = len(inputs)
        if n_inputs == 2:
            a, b = inputs
            out = fn.forward(a.data, b.data, **params) if params else fn.forward(a.data, b.data)
            grad_a, grad_b = a.requires_grad, b.requires_grad
            needs_grad = (grad_a, grad_b)
            record = (grad_a or grad_b) and _GradMode.enabled
        elif n_inputs == 1:
            x = inputs[0]
            out = fn.forward(x.data, **params) if params else fn.forward(x.data)
            record = x.requires_grad and _GradMode.enabled
            needs_grad = _ONE_NEEDS_GRAD
        elif n_inputs == 3:  # linear(x, W, b)
            a, b, c = inputs
            out = fn.forward(a.data, b.data, c.data, **params)
            needs_grad = (a.requires_grad, b.requires_grad, c.requires_grad)
            record = (needs_grad[0] or needs_grad[1] or needs_grad[2]) and _GradMode.enabled
        else:
            out = fn.forward(*[t.data for t in inputs], **params)
            needs_grad = tuple([t.requires_grad for t in inputs])
            record = True in needs_grad and _GradMode.enabled
        result = _new_object(Tensor)  # Tensor._make, inlined
        result.data = out
        result.grad = None
        result.name = None
        if record:
            fn.parents = inputs
            fn.needs_grad = needs_grad
            result.requires_grad = True
            result._ctx = fn
        else:
            result.requires_grad = False
            result._ctx = None
        return result

    def release(self) -> None:
        """Free saved arrays and links to inputs once backward no longer needs them."""
        self.__dict__.clear()
        self.freed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} op>"


_FUNCTION_ATTRS = Function.__dict__  # a live view: shows apply swapped by compile or anomaly mode
_PLAIN_APPLY = Function.__dict__["apply"]


def apply_pair(cls, a: Tensor, b: Tensor) -> Tensor:
    """``cls.apply(a, b)`` for an op of two tensors and no options, for Tensor's operators.

    The same steps as :meth:`Function.apply` without packing ``*inputs`` and ``**params``,
    about a tenth of a small op's overhead. While ``Function.apply`` is swapped (the recorder of
    ``cr.compile``, ``detect_anomaly``) it calls ``cls.apply``, so they see every op.
    """
    if _FUNCTION_ATTRS["apply"] is not _PLAIN_APPLY:
        return cls.apply(a, b)
    fn = cls()
    out = fn.forward(a.data, b.data)
    result = _new_object(Tensor)
    result.data = out
    result.grad = None
    result.name = None
    grad_a, grad_b = a.requires_grad, b.requires_grad
    if (grad_a or grad_b) and _GradMode.enabled:
        fn.parents = (a, b)
        fn.needs_grad = (grad_a, grad_b)
        result.requires_grad = True
        result._ctx = fn
    else:
        result.requires_grad = False
        result._ctx = None
    return result


def apply_one(cls, x: Tensor) -> Tensor:
    """``cls.apply(x)`` for an op of one tensor and no options (activations, ``exp``, ...).

    :func:`apply_pair` for one input: the same steps as :meth:`Function.apply` without the
    argument packing, and ``cls.apply`` itself while ``Function.apply`` is swapped.
    """
    if _FUNCTION_ATTRS["apply"] is not _PLAIN_APPLY:
        return cls.apply(x)
    fn = cls()
    result = _new_object(Tensor)
    result.data = fn.forward(x.data)
    result.grad = None
    result.name = None
    if x.requires_grad and _GradMode.enabled:
        fn.parents = (x,)
        fn.needs_grad = _ONE_NEEDS_GRAD
        result.requires_grad = True
        result._ctx = fn
    else:
        result.requires_grad = False
        result._ctx = None
    return result


def apply_three(cls, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """``cls.apply(a, b, c)`` for an op of three tensors and no options (``linear`` with a
    bias): :func:`apply_pair` for three inputs."""
    if _FUNCTION_ATTRS["apply"] is not _PLAIN_APPLY:
        return cls.apply(a, b, c)
    fn = cls()
    result = _new_object(Tensor)
    result.data = fn.forward(a.data, b.data, c.data)
    result.grad = None
    result.name = None
    grad_a, grad_b, grad_c = a.requires_grad, b.requires_grad, c.requires_grad
    if (grad_a or grad_b or grad_c) and _GradMode.enabled:
        fn.parents = (a, b, c)
        fn.needs_grad = (grad_a, grad_b, grad_c)
        result.requires_grad = True
        result._ctx = fn
    else:
        result.requires_grad = False
        result._ctx = None
    return result
