"""What every loss shares: argument checks with messages that say how to fix the call, and
the reduction of per-element losses (``"mean"``, ``"sum"``, ``"none"``) with its gradient."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import float_operand
from chainrule.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


# ---- argument checks ------------------------------------------------------------------------
def legacy_reduction(loss: str, size_average, reduce, reduction: str) -> str:
    """The reduction PyTorch's deprecated ``size_average``/``reduce`` arguments ask for (its
    ``legacy_get_string``, with a warning), or ``reduction`` when both are None. PyTorch's
    signatures put ``size_average`` where a reduction string passed by position lands; it reads
    such a string as true ("mean"), so a string there is refused rather than read either way."""
    if size_average is None and reduce is None:
        return reduction if reduction != "elementwise_mean" else mean_alias(reduction, loss)
    for arg, value in (("size_average", size_average), ("reduce", reduce)):
        if isinstance(value, str):
            raise TypeError(
                f"{loss}: got {value!r} for {arg}: in PyTorch's signature that position holds the "
                f"deprecated {arg} flag, not the reduction (PyTorch would read the string as "
                f"true); pass reduction={value!r} by keyword"
            )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "none" if not reduce else ("mean" if size_average else "sum")
    import warnings

    warnings.warn(
        f"{loss}: size_average and reduce are deprecated (as in PyTorch); use "
        f"reduction={legacy!r} instead",
        UserWarning,
        stacklevel=3,
    )
    return legacy


# PyTorch's functions that read the reduction with ``_Reduction.get_enum`` take the 0.4-era
# "elementwise_mean" for "mean" (with a warning); these pass it on and refuse it
_NO_MEAN_ALIAS = frozenset(
    (
        "poisson_nll_loss",
        "PoissonNLLLoss",
        "gaussian_nll_loss",
        "GaussianNLLLoss",
        "multilabel_soft_margin_loss",
        "MultiLabelSoftMarginLoss",
        "triplet_margin_with_distance_loss",
        "TripletMarginWithDistanceLoss",
    )
)


def mean_alias(reduction, loss: str):
    """``"mean"`` for PyTorch's deprecated ``reduction="elementwise_mean"``, with its warning,
    where PyTorch's ``loss`` takes it; any other value unchanged (for the usual check)."""
    if reduction != "elementwise_mean" or loss in _NO_MEAN_ALIAS:
        return reduction
    import warnings

    warnings.warn(
        "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
        UserWarning,
        stacklevel=3,
    )
    return "mean"


def _check_reduction(reduction, loss: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{loss} reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


_float_input = float_operand  # the loss's input must hold floats, as an activation's does


def _promoted(input: Tensor, target) -> Tensor:
    """The input converted up to a wider float target's dtype (float32 input, float64 target:
    the loss is float64, as PyTorch promotes); the conversion is differentiable, so the
    input's gradient comes back in its own dtype. Otherwise the input itself."""
    if (
        isinstance(target, Tensor)
        and target.array.dtype.kind == "f"
        and target.array.dtype.itemsize > input.array.dtype.itemsize
    ):
        return input.astype(target.array.dtype)
    return input


def _float_target(target, like: Tensor, loss: str) -> Tensor:
    """The target as a tensor of the input's dtype (a differentiable cast if it needs grad)."""
    if isinstance(target, Tensor):
        if target.array.dtype == like.array.dtype:
            return target
        if target.array.dtype.kind not in "fiub":
            raise DTypeError(f"{loss} got a target of dtype {target.array.dtype}")
        return target.astype(like.array.dtype)
    array = np.asarray(target)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{loss} got a target of dtype {array.dtype}; targets must be numbers")
    return Tensor._make(array.astype(like.array.dtype, copy=False), False)


def _same_shape(input: Tensor, target: Tensor, loss: str) -> None:
    if input.array.shape != target.array.shape:
        raise ShapeError(
            f"{loss} got input of shape {input.shape} and target of shape {target.shape}; they "
            f"must match (reshape the target, e.g. target.reshape{input.shape})"
        )


def _weight_array(weight, dtype, loss: str, name: str = "weight") -> np.ndarray | None:
    if weight is None:
        return None
    array = np.asarray(weight.array if isinstance(weight, Tensor) else weight)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{loss} {name} must be numeric, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _reduce_array(per_element: np.ndarray, reduction: str, count, wide=False) -> np.ndarray:
    """The sum or mean of a loss's per-element values (``count`` of them took part). ``wide``:
    float16 is summed in float32 and rounded once, as PyTorch's elementwise losses reduce
    (``mse_loss``, BCE...); its ``nll_loss`` keeps float16 and overflows, and so do those here.
    """
    if reduction == "none":
        return per_element
    if per_element.size == 1 and count == 1:
        # One element is its own sum and mean; NumPy's reduction costs 0.7 µs even here.
        return per_element.reshape(())
    if wide and per_element.dtype == np.float16:
        return _reduce_array(per_element.astype(np.float32), reduction, count).astype(np.float16)
    total = per_element.sum()  # the method: np.sum's Python wrapper costs a microsecond
    if reduction == "sum":
        return total
    if not count:  # a mean over nothing (every target ignored): NaN, quietly, as in PyTorch
        return per_element.dtype.type(np.nan)
    return total / per_element.dtype.type(count)


def _spread(grad: np.ndarray, shape: tuple, reduction: str, count) -> np.ndarray:
    """The upstream gradient as seen by each element before the reduction."""
    if reduction == "none":
        return grad
    if reduction == "mean":
        # a mean over nothing (every target ignored): the loss is 0/0 = NaN, as PyTorch's, but
        # no element took part, so every gradient is 0 (PyTorch's too), not NaN
        grad = grad / grad.dtype.type(count) if count else np.zeros_like(grad)
    return np.broadcast_to(grad, shape)


def _upstream(grad: np.ndarray, reduction: str, count: int):
    """The upstream gradient each element receives: the array itself for ``"none"``, else a
    NumPy scalar (÷ count for ``"mean"``), which costs a fraction of 0-d array arithmetic and
    keeps the array's float dtype."""
    if reduction == "none":
        return grad
    g = grad[()]
    if reduction == "mean" and count == 0:  # every target ignored: see _spread
        return g * 0
    return g / count if reduction == "mean" and count != 1 else g


def _arrays(*grads):
    """Gradients as arrays: ufuncs on 0-d arrays return NumPy scalars."""
    return tuple(g if g is None or isinstance(g, np.ndarray) else np.asarray(g) for g in grads)


def _graph_scale(grad: Tensor, reduction: str, count: int) -> Tensor:
    """The upstream gradient spread over the elements a reduction averaged or summed."""
    return grad / count if reduction == "mean" and count != 1 else grad
