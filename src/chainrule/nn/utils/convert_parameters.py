"""Parameters as one vector and back, as PyTorch's ``torch.nn.utils.convert_parameters``."""

from __future__ import annotations

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.utils.clip_grad import _params
from chainrule.ops.shape import cat
from chainrule.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor, recorded on the graph.

    As PyTorch's ``torch.cat([p.view(-1) for p in parameters])``: the result is a new tensor
    (a copy), and a loss computed from it sends gradients back to the parameters. Mixed dtypes
    are promoted as :func:`chainrule.cat` does.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (cr.nn.utils.parameters_to_vector([w]) ** 2).sum().backward()
        >>> w.grad.tolist()
        [2.0, 4.0]
    """
    params = _params(parameters)
    if not params:
        return Tensor._make(np.zeros(0, np.float32), False)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place (not recorded).

    PyTorch assigns each slice to ``param.data``, so the parameters then share ``vec``'s memory
    and take its dtype; chainrule copies the values into the parameters' own arrays instead
    and asks for ``vec`` in the parameters' dtype rather than changing their dtype.

    Raises:
        ShapeError: ``vec`` is not 1-D or its length differs from the parameters' total size.
        DTypeError: ``vec`` is a tensor of another dtype than a parameter.
    """
    values = vec.array if isinstance(vec, Tensor) else np.asarray(vec)
    params = _params(parameters)
    total = sum(int(np.asarray(p).size) for p in params)
    if values.ndim != 1 or values.size != total:
        raise ShapeError(
            f"vector_to_parameters got a vector of shape {values.shape} for parameters with "
            f"{total} elements in all; pass a 1-D vector of length {total}"
        )
    if isinstance(vec, Tensor):
        for p in params:
            if p.array.dtype != values.dtype:
                raise DTypeError(
                    f"vector_to_parameters got a {values.dtype} vector for a {p.array.dtype} "
                    f"parameter (PyTorch would change the parameter's dtype); convert the "
                    f"vector first: vec.to(cr.{p.array.dtype})"
                )
    start = 0
    for p in params:
        target = np.asarray(p)
        target[...] = values[start : start + target.size].reshape(target.shape)
        start += target.size
