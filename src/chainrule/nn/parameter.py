"""``torch.nn.parameter``'s path (``from torch.nn.parameter import Parameter``): chainrule's
:class:`~chainrule.nn.Parameter` itself."""

from chainrule.nn.module import Parameter

__all__ = ["Parameter"]
