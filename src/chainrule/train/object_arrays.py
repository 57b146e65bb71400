"""Arrays of Python objects handed to ``fit``: pandas' nullable columns, and text.

A DataFrame with a nullable integer column (``Int64``, what ``convert_dtypes`` and many
readers give) or a ``boolean`` one becomes an array of objects in NumPy, so ``fit`` said
"dtype object ... convert strings or objects first" about numbers. They are read as the
numbers they are (a missing ``pd.NA`` as NaN, which the finite-value checks then name by
its row); text is named by its first cell.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import DataError

__all__ = ["numbers_of"]


def numbers_of(value, array: np.ndarray, what: str) -> np.ndarray:
    """``array`` (of dtype object, from ``value``) as numbers, or a DataError naming text."""
    numbers = _pandas_numbers(value)
    if numbers is not None:
        return numbers
    flat = array.reshape(-1)
    for i, cell in enumerate(flat.tolist()):
        if not isinstance(cell, (bool, int, float, np.number)) or isinstance(cell, str):
            where = np.unravel_index(i, array.shape)
            at = f"row {where[0]}, column {where[1]}" if array.ndim == 2 else f"row {where[0]}"
            raise DataError(
                f"fit: {what} holds {type(cell).__name__} values, such as {cell!r} at {at}; "
                f"chainrule trains on numbers: encode text as numbers first (class labels as "
                f"0..k-1, categories one-hot, e.g. pandas.get_dummies), or read the file with "
                f"cr.data.load_csv, which does both"
            )
    return array.astype(np.float64)


def _pandas_numbers(value) -> np.ndarray | None:
    """A pandas object of (nullable) numbers as a float array with NaN for ``pd.NA``, or as
    int64 when every column is integer or boolean and none is missing (class labels stay
    integers); None for anything else."""
    to_numpy = getattr(value, "to_numpy", None)
    dtypes = getattr(value, "dtypes", None)
    if to_numpy is None or dtypes is None:
        return None
    kinds = [getattr(d, "kind", "O") for d in (dtypes if hasattr(dtypes, "__iter__") else [dtypes])]
    if not all(k in "iufb" for k in kinds):
        return None
    try:
        numbers = np.asarray(to_numpy(dtype="float64", na_value=np.nan))
    except (TypeError, ValueError):
        return None
    if all(k in "iub" for k in kinds) and not np.isnan(numbers).any():
        return numbers.astype(np.int64)
    return numbers
