"""The modules of ``ops/activation_more.py``, as PyTorch's: CELU, SELU, RReLU, Hardshrink and
Softshrink (arguments, defaults and reprs), and the in-place functions ``F.celu_``,
``F.selu_`` and ``F.rrelu_``. ``inplace`` as in ``nn/activation.py``."""

from __future__ import annotations

from chainrule.autograd.grad_mode import _GradMode
from chainrule.autograd.inplace import _check_writable
from chainrule.nn.activation import _check_finite, in_place
from chainrule.nn.module import Module
from chainrule.ops import activation_more as _ops
from chainrule.tensor import Tensor


class CELU(Module):
    """max(0, x) + min(0, α·(e^(x/α) − 1)), elementwise. Shape: any → same.

    Args:
        alpha: the α of the formula (PyTorch's default 1.0).
        inplace: write the result into the input where nothing is recorded for backward.
    """

    _config_args = ("alpha", "inplace")

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = _check_finite(alpha, "alpha", "CELU")
        self.inplace = bool(inplace)

    def forward(self, x):
        out = _ops.celu(x, self.alpha)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    """λ·(max(0, x) + min(0, α·(eˣ − 1))), λ ≈ 1.0507, α ≈ 1.6733, elementwise.
    Shape: any → same."""

    _config_args = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        out = _ops.selu(x)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class RReLU(Module):
    """x if x > 0 else r·x: in training r is drawn uniformly from [lower, upper] for every
    element, in evaluation it is (lower + upper)/2. Shape: any → same.

    Args:
        lower, upper: the range of the random slope (PyTorch's 1/8 and 1/3).
        inplace: write the result into the input where nothing is recorded for backward.
        generator: a :class:`chainrule.Generator` for the slopes (default: the global one).
    """

    _config_args = ("lower", "upper", "inplace")

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False, generator=None
    ):
        super().__init__()
        self.lower = _check_finite(lower, "lower", "RReLU")
        self.upper = _check_finite(upper, "upper", "RReLU")
        self.inplace = bool(inplace)
        self.generator = generator

    def forward(self, x):
        out = _ops.rrelu(x, self.lower, self.upper, self.training, generator=self.generator)
        return in_place(out, x, True) if self.inplace else out

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"


class _Shrink(Module):
    """A shrinkage with PyTorch's one argument ``lambd``, shown bare in the repr."""

    _config_args = ("lambd",)
    _op = None

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _check_finite(lambd, "lambd", type(self).__name__)

    def forward(self, x):
        return type(self)._op(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """x where |x| > lambd, else 0, elementwise. Shape: any → same."""

    _op = staticmethod(_ops.hardshrink)


class Softshrink(_Shrink):
    """x − lambd above lambd, x + lambd below −lambd, else 0, elementwise (lambd ≥ 0).
    Shape: any → same."""

    _op = staticmethod(_ops.softshrink)


# ---- in-place functions ---------------------------------------------------------------------
def _write(op: str, fn, input, *args):  # noqa: A002 - PyTorch's name
    """``fn(input, *args)`` written into ``input``, which is returned; on a tensor in the middle
    of the graph the write is recorded, as PyTorch's (autograd/inplace_graph.py)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input._ctx is not None and input.requires_grad and _GradMode.enabled:
        from chainrule.autograd.inplace_graph import rewrite

        return rewrite(input, op, lambda old: fn(old, *args))
    _check_writable(input, op)
    return input.copy_(fn(input, *args))


def celu_(input, alpha: float = 1.0):  # noqa: A002 - PyTorch's name
    """:func:`celu` written into ``input``, as ``torch.nn.functional.celu_``."""
    return _write("celu_", _ops.celu, input, alpha)


def selu_(input):  # noqa: A002 - PyTorch's name
    """:func:`selu` written into ``input``, as ``torch.nn.functional.selu_``."""
    return _write("selu_", _ops.selu, input)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False):  # noqa: A002
    """:func:`rrelu` written into ``input``, as ``torch.nn.functional.rrelu_``."""
    return _write("rrelu_", _ops.rrelu, input, lower, upper, training)
