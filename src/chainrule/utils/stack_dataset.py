"""PyTorch's ``StackDataset``: several datasets of the same length read side by side."""

from __future__ import annotations

from chainrule.data.dataset import Dataset


class StackDataset(Dataset):
    """Sample ``i`` is the tuple (``StackDataset(a, b)``) or dict (``StackDataset(x=a, y=b)``)
    of sample ``i`` of each dataset, as PyTorch's.

    Example:
        >>> StackDataset([1, 2], ["a", "b"])[1], StackDataset(x=[1, 2], y=[3, 4])[0]
        ((2, 'b'), {'x': 1, 'y': 3})
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError(
                "StackDataset: give the datasets either by position (tuple samples) or by "
                "name (dict samples), not both"
            )
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets = args if args else kwargs
        parts = args if args else tuple(kwargs.values())
        lengths = {len(d) for d in parts}
        if len(lengths) != 1:
            raise ValueError(
                f"StackDataset: size mismatch between datasets (lengths {sorted(lengths)}); "
                f"every dataset needs one sample per index"
            )
        self._length = lengths.pop()

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)
