"""Several outputs of one op as one array: a decomposition (Q and R, eigenvalues and
eigenvectors, U, S and Vh) is computed once, its outputs laid side by side along a last axis,
and read back as slices. The engine then sees one op with one output: the slices' gradients
(0 for an output the loss does not use) arrive together in the op's ``backward``."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


class Packed:
    """The layout: a batch shape and each output's own (core) shape."""

    def __init__(self, batch: tuple, cores: tuple):
        self.batch, self.cores = tuple(batch), tuple(tuple(c) for c in cores)
        self.sizes = [int(np.prod(c, dtype=np.int64)) for c in self.cores]
        self.stops = np.cumsum(self.sizes).tolist()

    def pack(self, arrays) -> np.ndarray:
        flat = [a.reshape(self.batch + (size,)) for a, size in zip(arrays, self.sizes)]
        return np.concatenate(flat, axis=-1)

    def split(self, flat: np.ndarray) -> list:
        """The packed gradient, back in the outputs' shapes."""
        starts = [0] + self.stops[:-1]
        return [
            flat[..., start:stop].reshape(self.batch + core)
            for start, stop, core in zip(starts, self.stops, self.cores)
        ]

    def unpack(self, packed: Tensor, view: type | None = None) -> list:
        """The outputs as tensors in the graph (slices of the op's one output); ``view``, a
        Reshape subclass, gives them PyTorch's grad_fn name (``_named.py``)."""
        from chainrule.ops.linalg._named import reshaped

        starts = [0] + self.stops[:-1]
        return [
            packed[..., start:stop].reshape(self.batch + core)
            if view is None
            else reshaped(packed[..., start:stop], self.batch + core, view)
            for start, stop, core in zip(starts, self.stops, self.cores)
        ]
