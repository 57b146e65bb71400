"""The finite-value guard of one training step: stop at the first NaN or infinity, and say why.

:func:`chainrule.train.step.train_step` asks the guard three questions: is the loss finite
(before ``backward``), are the gradients finite (before the optimizer touches a weight), are the
parameters finite (after the update). A "no" raises :class:`~chainrule.NonFiniteError` with

* ``kind``: ``"loss"``, ``"gradient"`` or ``"parameter"`` (what went bad);
* ``stage``: ``"loss"``, ``"gradient"`` or ``"update"`` (which check caught it);
* ``value``: the batch loss;

and a message naming the culprit (the parameter, the bad rows of the batch) and the fix.
Callers add where it happened (``fit``: epoch and batch; the playground: the step number).
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import NonFiniteError

__all__ = [
    "FiniteGuard",
    "all_finite",
    "bad_rows",
    "describe_rows",
    "first_nonfinite",
    "parameters_finite",
    "source_rows",
]


def all_finite(arrays) -> bool:
    """Whether every array is free of NaN and ±inf: one BLAS dot product per array.

    ``v @ v`` (the sum of squares) is NaN or inf whenever ``v`` holds a NaN or an inf, and
    BLAS computes it several times faster than ``np.isfinite(v).all()``, without a temporary.
    Only huge finite values (squares past the dtype's maximum) make it overflow, so a
    non-finite result is confirmed element by element: never a false alarm, never a miss.
    """
    total = 0.0
    for a in arrays:
        v = a.reshape(-1)
        total += float(v @ v)
    if math.isfinite(total):
        return True
    return all(np.isfinite(a).all() for a in arrays)


def first_nonfinite(named):
    """``(name, "NaN" or "inf")`` of the first array of ``(name, array)`` pairs that is not
    finite, or None."""
    for name, a in named:
        if a is not None and not np.isfinite(a).all():
            bad = a[~np.isfinite(a)]
            return name, ("NaN" if np.isnan(bad).any() else "inf")
    return None


def bad_rows(array: np.ndarray) -> np.ndarray:
    """The indices of the rows of ``array`` holding NaN or ±inf (none for non-float arrays)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc" or len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))


def source_rows(data: np.ndarray, batch: np.ndarray, rows) -> list[int] | None:
    """The rows of ``data`` (the user's array) that rows ``rows`` of ``batch`` were drawn from,
    matched by content among the non-finite rows of ``data`` (NaN equals NaN); ``None`` when
    one cannot be matched. Called only after a failure, so the scan costs nothing on the way."""
    candidates = [int(i) for i in bad_rows(data)]
    found = []
    for r in rows:
        row = batch[r]
        match = next(
            (
                i
                for i in candidates
                if i not in found
                and np.array_equal(np.asarray(data[i], row.dtype), row, equal_nan=True)
            ),
            None,
        )
        if match is None:
            return None
        found.append(match)
    return sorted(found)


def what_is_bad(array: np.ndarray) -> str:
    """``"NaN"``, ``"inf"`` or ``"NaN and inf"``: what the non-finite values of ``array`` are."""
    bad = array[~np.isfinite(array)]
    nan, inf = bool(np.isnan(bad).any()), bool(np.isinf(bad).any())
    return "NaN and inf" if nan and inf else ("NaN" if nan else "inf")


def describe_rows(name: str, data: np.ndarray, rows, offset: int = 0) -> str:
    """``"X row 3 holds NaN"``: the non-finite ``rows`` of the user's array ``name``, numbered
    from ``offset``, and how many more rows of it are bad."""
    rows = [int(r) for r in rows]
    what = what_is_bad(np.asarray(data)[rows])
    shown = [r + offset for r in rows]
    text = (
        f"{name} row {shown[0]} holds {what}"
        if len(rows) == 1
        else f"{name} rows {shown[:10]}{'...' if len(rows) > 10 else ''} hold {what}"
    )
    array = np.asarray(data)
    if array.ndim == 2 and array.dtype.kind in "fc" and array.shape[1] > 1:
        # the cell to fix: row and column(s), as a spreadsheet user looks for it
        cols = np.flatnonzero(~np.isfinite(array[rows[0]])).tolist()
        where = f"column {cols[0]}" if len(cols) == 1 else f"columns {cols[:10]}"
        text += f" in {where}" if len(rows) == 1 else f" (row {shown[0]} in {where})"
    others = [int(r) + offset for r in bad_rows(data) if r not in rows]
    if others:
        rows_hold = "row holds" if len(others) == 1 else "rows hold"
        text += (
            f" ({len(others)} other {rows_hold} NaN or inf too: {others[:10]}"
            f"{'...' if len(others) > 10 else ''})"
        )
    return text


def parameters_finite(model) -> bool:
    """True when every parameter and buffer of ``model`` is finite (no NaN, no ±inf)."""
    for value in model.state_dict().values():
        value = np.asarray(value)
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            return False
    return True


def _error(kind: str, stage: str, value, message: str) -> NonFiniteError:
    err = NonFiniteError(message)
    err.kind, err.stage, err.value = kind, stage, value
    err.epoch = err.batch = None
    err.part = err.batch_rows = err.rows = None
    return err


class FiniteGuard:
    """Checks one model's training steps for NaN and infinity.

    Args:
        model: the model whose parameters and gradients are checked.
        restore: keep a copy of the parameters before each update and put it back when the
            update makes one non-finite (the playground's choice: the page keeps its last good
            weights). ``fit`` leaves this off: copying every step costs time.
    """

    def __init__(self, model, restore: bool = False):
        self.model = model
        self.parameters = list(model.parameters())
        self.restore = restore
        self._before = None

    def _named(self, what: str):
        return ((n, getattr(p, what)) for n, p in self.model.named_parameters())

    def check_start(self) -> None:
        """Refuse to start training from weights that already hold NaN or inf."""
        bad = first_nonfinite(self._named("array"))
        if bad:
            raise _error(
                "parameter",
                "start",
                None,
                f"parameter {bad[0]!r} contains {bad[1]} before training starts; initialise or "
                f"load finite weights",
            )

    def check_loss(self, value: float, x: np.ndarray, y: np.ndarray) -> None:
        """The batch loss (before ``backward``); a bad one is traced to a parameter, the input
        rows, the target rows or the forward computation."""
        if math.isfinite(value):
            return
        bad = first_nonfinite(self._named("array"))
        if bad:
            raise _error(
                "parameter",
                "loss",
                value,
                f"parameter {bad[0]!r} contains {bad[1]}, so the loss is {value}; it went bad "
                f"outside the optimizer step (a callback, or edited by hand)",
            )
        for what, array in (("input batch", x), ("target batch", y)):
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                rows = bad_rows(array)
                err = _error(
                    "loss",
                    "loss",
                    value,
                    f"the loss is {value} because the {what} contains NaN or inf (rows "
                    f"{rows[:5].tolist()} of the batch); clean the data first",
                )
                # for the caller to name the rows of the user's data (fit: batch_rows_in_data)
                err.part, err.batch_rows = ("X" if what == "input batch" else "y"), rows
                raise err
        raise _error(
            "loss",
            "loss",
            value,
            f"the loss is {value}; the forward pass overflowed or took the log of 0 — lower the "
            f"learning rate, normalise the inputs, or find the op with cr.detect_anomaly()",
        )

    def check_gradients(self, value: float) -> None:
        """Every gradient, before the update (so a bad one never reaches a weight)."""
        grads = [p.grad_array for p in self.parameters if p.grad_array is not None]
        if all_finite(grads):
            if self.restore:
                self._before = [p.array.copy() for p in self.parameters]
            return
        name, what = first_nonfinite(self._named("grad_array")) or (
            "(a parameter outside the model)",
            "NaN or inf",
        )
        raise _error(
            "gradient",
            "gradient",
            value,
            f"the gradient of {name!r} contains {what} (the loss, {value:.6g}, is finite: an "
            f"op's derivative overflowed or divided by zero; cr.detect_anomaly() names it). The "
            f"step was not taken.",
        )

    def check_parameters(self, value: float) -> None:
        """Every parameter, after the update; with ``restore`` the update is undone."""
        if all_finite([p.array for p in self.parameters]):
            return
        name, what = first_nonfinite(self._named("array")) or ("?", "NaN or inf")
        if self.restore and self._before is not None:
            for p, old in zip(self.parameters, self._before):
                p.array[...] = old
        raise _error(
            "parameter",
            "update",
            value,
            f"the optimizer step made parameter {name!r} contain {what} (gradients were finite: "
            f"the learning rate is probably too high)",
        )
