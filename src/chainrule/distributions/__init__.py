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
from chainrule.distributions.exponential import Exponential
from chainrule.distributions.independent import Independent
from chainrule.distributions.kl import kl_divergence, register_kl
from chainrule.distributions.laplace import Laplace
from chainrule.distributions.multivariate_normal import MultivariateNormal
from chainrule.distributions.normal import Normal
from chainrule.distributions.one_hot_categorical import (
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
)
from chainrule.distributions.poisson import Poisson
from chainrule.distributions.uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Exponential",
    "Independent",
    "Laplace",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Poisson",
    "Uniform",
    "constraints",
    "kl",
    "kl_divergence",
    "register_kl",
]

# torch.distributions names chainrule does not have yet: NotSupportedError (an AttributeError
# too) with the nearest spelling, as for the other PyTorch names chainrule lacks
_NOT_YET = {
    "Beta", "Binomial", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
    "ExponentialFamily", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel",
    "HalfCauchy", "HalfNormal", "InverseGamma", "Kumaraswamy", "LKJCholesky",
    "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "MixtureSameFamily",
    "Multinomial", "NegativeBinomial", "Pareto", "RelaxedBernoulli", "RelaxedOneHotCategorical",
    "StudentT", "VonMises", "Weibull", "Wishart", "TransformedDistribution",
    "biject_to", "transform_to", "transforms",
}  # fmt: skip
_HINTS = {
    "LowRankMultivariateNormal": "MultivariateNormal(loc, covariance_matrix=W @ W.mT + D)",
    "HalfNormal": "Normal(0, scale) and abs() of its samples",
    "LogNormal": "Normal(loc, scale) and exp() of its samples; log_prob(x) = "
    "Normal.log_prob(log x) - log x",
}


def __getattr__(name: str):
    if name in _NOT_YET:
        from chainrule._nearest import message
        from chainrule.errors import NotSupportedError

        hint = _HINTS.get(
            name,
            "the distributions in docs/distributions.md: "
            + ", ".join(n for n in __all__ if n[0].isupper() and n != "Distribution"),
        )
        raise NotSupportedError(message(f"torch.distributions.{name}", hint))
    raise AttributeError(f"module 'chainrule.distributions' has no attribute {name!r}")
