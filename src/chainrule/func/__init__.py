"""Function transforms, PyTorch's ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``jacfwd``, ``hessian``, ``vmap`` and ``functional_call`` (docs/pytorch.md,
"Function transforms").

Example:
    >>> import chainrule as cr
    >>> from chainrule.func import grad
    >>> grad(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0])).tolist()
    [3.0, 12.0]
"""

from chainrule.func.functional_call import functional_call
from chainrule.func.jacobians import hessian, jacfwd, jacrev
from chainrule.func.transforms import grad, grad_and_value, vjp
from chainrule.func.vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "vjp",
    "vmap",
]
