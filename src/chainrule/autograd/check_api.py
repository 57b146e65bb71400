"""``cr.autograd.gradcheck`` / ``gradgradcheck``: PyTorch's call forms (``func, inputs`` with
``inputs`` a tensor or a tuple; ``raise_exception``) on chainrule's finite-difference checks
(:mod:`chainrule.testing.gradcheck`, whose own form is ``gradcheck(fn, *inputs)``)."""

from __future__ import annotations

from chainrule.errors import DTypeError, NotSupportedError

# PyTorch's options that choose what is checked: accepted at these values only
_CHECKS = {
    "nondet_tol": 0.0,
    "check_undefined_grad": True,
    "check_grad_dtypes": False,
    "check_batched_grad": False,
    "check_batched_forward_grad": False,
    "check_forward_ad": False,
    "check_backward_ad": True,
    "masked": None,
    "gen_non_contig_grad_outputs": False,
    "grad_outputs": None,
}


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    **checks,
) -> bool:
    """True if ``func``'s gradients at ``inputs`` match central finite differences, as
    PyTorch's ``autograd.gradcheck``; on a mismatch raises ``GradcheckError`` (or returns
    False with ``raise_exception=False``). Inputs that require grad must be float64.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
        >>> cr.autograd.gradcheck(lambda t: (t * t).sigmoid(), (x,))
        True
    """
    from chainrule.testing.gradcheck import gradcheck as check_first

    inputs = _checked(inputs, checks, "gradcheck")
    return _verdict(
        lambda: check_first(func, *inputs, eps=eps, atol=atol, rtol=rtol, fast=fast_mode),
        raise_exception,
    )


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **checks,
) -> bool:
    """Second derivatives checked against finite differences of the first, as PyTorch's
    ``autograd.gradgradcheck`` (random ``grad_outputs`` only)."""
    from chainrule.testing.gradcheck import gradgradcheck as check_second

    inputs = _checked(inputs, {**checks, "grad_outputs": grad_outputs}, "gradgradcheck")
    return _verdict(
        lambda: check_second(func, *inputs, eps=eps, atol=atol, rtol=rtol), raise_exception
    )


def _checked(inputs, checks: dict, name: str) -> tuple:
    from chainrule.tensor import Tensor

    for option, value in checks.items():
        if option not in _CHECKS:
            raise TypeError(f"{name}() got an unexpected keyword argument {option!r}")
        if value is not _CHECKS[option] and value != _CHECKS[option]:
            raise NotSupportedError(
                f"autograd.{name}({option}={value!r}) is not supported; chainrule checks the "
                f"backward pass only (leave {option} at {_CHECKS[option]!r})"
            )
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.array.dtype.kind == "f":
            if t.array.dtype.itemsize < 8:
                # PyTorch checks in the inputs' precision, where rounding fails the check;
                # chainrule's check would pass in float64: refuse rather than answer otherwise
                raise DTypeError(
                    f"autograd.{name}: input {i} requires grad and is {t.array.dtype}; the check "
                    f"needs double precision: make it with dtype=float64"
                )
    return inputs


def _verdict(run, raise_exception: bool) -> bool:
    from chainrule.testing import GradcheckError

    try:
        return run()
    except GradcheckError:
        if raise_exception:
            raise
        return False
