"""Optimizers that update parameters from their gradients, and learning-rate schedules.

PyTorch's API and update rules: ``opt = optim.Adam(model.parameters(), lr=1e-3)``, then
``opt.zero_grad()``, ``loss.backward()``, ``opt.step()`` in the loop; ``optim.lr_scheduler``
changes the learning rate over time.
"""

from chainrule.errors import NotSupportedError
from chainrule.optim import lr_scheduler
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adafactor import Adafactor
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adamax import Adamax
from chainrule.optim.asgd import ASGD
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.nadam import NAdam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.radam import RAdam
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.rprop import Rprop
from chainrule.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "NAdam",
    "RAdam",
    "Adamax",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Rprop",
    "ASGD",
    "Adafactor",
    "LBFGS",
    "lr_scheduler",
    "swa_utils",
]

# PyTorch optimizers chainrule lacks, with the nearest one it has
_MISSING = {
    "SparseAdam": "Adam (dense gradients only)",
    "Muon": "SGD(momentum=..., nesterov=True)",
}


def __getattr__(name: str):
    if name == "swa_utils":  # on first use: it imports nn, which may be importing optim
        import importlib

        return importlib.import_module("chainrule.optim.swa_utils")
    if name in _MISSING:
        raise NotSupportedError(
            f"torch.optim.{name} is not supported by chainrule; nearest: {_MISSING[name]}; "
            f"chainrule.optim has {', '.join(n for n in __all__ if n[0].isupper())} "
            f"(docs/optim.md)"
        )
    raise AttributeError(f"module 'chainrule.optim' has no attribute {name!r}")
