"""``torch.distributions`` for chainrule: probability distributions whose ``log_prob``,
``entropy``, ``rsample`` and ``kl_divergence`` are built from chainrule's tensor ops, so they
backpropagate to the parameters (VAEs, policy gradients, probabilistic outputs).

Samples come from chainrule's generator (``cr.manual_seed``), so they repeat run to run but
are not PyTorch's bits; densities, entropies and KLs match PyTorch's numbers.
"""

from chainrule.distributions import constraints
from chainrule.distributions.bernoulli import Bernoulli
from chainrule.distributions.categorical import Categorical
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.independent import Independent
from chainrule.distributions.kl import kl_divergence, register_kl
from chainrule.distributions.multivariate_normal import MultivariateNormal
from chainrule.distributions.normal import Normal
from chainrule.distributions.one_hot_categorical import (
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
)
from chainrule.distributions.uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Uniform",
    "constraints",
    "kl",
    "kl_divergence",
    "register_kl",
]
