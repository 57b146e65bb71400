"""Optimizers that update parameters from their gradients, and learning-rate schedules.

PyTorch's API and update rules: ``opt = optim.Adam(model.parameters(), lr=1e-3)``, then
``opt.zero_grad()``, ``loss.backward()``, ``opt.step()`` in the loop; ``optim.lr_scheduler``
changes the learning rate over time.
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
