"""``torch.nn.modules.container``'s path: containers (``chainrule.nn``'s classes)."""

from chainrule.nn import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential

__all__ = [
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
]
