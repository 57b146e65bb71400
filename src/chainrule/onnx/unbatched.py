"""One unbatched sample through an ONNX node that needs a batch axis.

ONNX's ``Conv``, ``ConvTranspose`` and the pooling nodes take (N, C, spatial...) only, where
PyTorch's layers also take one sample, (C, spatial...). Such an input goes in with an
``Unsqueeze`` to a batch of one and comes out with a ``Squeeze``, as PyTorch computes it."""

from __future__ import annotations

import functools
import re


def spatial_dims(module) -> int:
    """1, 2 or 3: the N of the ``...Nd`` class the layer is or derives from."""
    for cls in type(module).__mro__:
        found = re.search(r"([123])d$", cls.__name__)
        if found:
            return int(found.group(1))
    raise ValueError(f"{type(module).__name__}: cannot tell how many spatial dimensions it has")


def batch_of_one(convert):
    """Wrap a converter so that an unbatched input is converted as a batch of one."""

    @functools.wraps(convert)
    def wrapper(g, m, x, out):
        if x.array.ndim != spatial_dims(m) + 1:
            return convert(g, m, x, out)
        batched = g.add("Unsqueeze", [x.name, g.ints([0], "axes")])
        name = convert(g, m, type(x)(batched, x.array[None]), out[None])
        return g.add("Squeeze", [name, g.ints([0], "axes")])

    return wrapper
