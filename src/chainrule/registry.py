"""One vocabulary: the short names of losses, optimizers and activations, and what each means.

The command line (``chainrule train --loss bce --optimizer adam --activation tanh``), the
playground, the run report and :func:`chainrule.models.mlp` all read these tables, so a name
means the same thing everywhere and a new entry appears in every one of them at once. A loss's
formula and derivative text live on its class (``nn.BCEWithLogitsLoss.mean_formula``); the
table only names it.

(Not to be confused with :mod:`chainrule.nn.registry`, which turns saved architectures back
into layers.)

Example:
    >>> import chainrule as cr
    >>> from chainrule import registry
    >>> registry.LOSSES["bce"].cls.__name__
    'BCEWithLogitsLoss'
    >>> registry.make_optimizer("sgd", [cr.nn.Parameter(cr.zeros(2))], momentum=0.9).defaults["lr"]
    0.1
"""

from __future__ import annotations

from dataclasses import dataclass

from chainrule import nn, optim

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "LossEntry",
    "OptimizerEntry",
    "loss_key",
    "make_activation",
    "make_loss",
    "make_optimizer",
]


@dataclass(frozen=True)
class LossEntry:
    """A loss by its short name.

    Attributes:
        name: the short name (``"bce"``).
        cls: the loss module class; it carries ``output``, ``mean_formula`` and
            ``mean_derivative``.
        title: a few words for menus and reports.
        targets: what the targets are: ``"binary"`` (one 0/1 column), ``"classes"`` (class
            indices, one output per class) or ``"values"`` (one float column).
    """

    name: str
    cls: type
    title: str
    targets: str

    def outputs(self, n_classes: int | None) -> int:
        """How many outputs the model needs for this loss."""
        return int(n_classes) if self.targets == "classes" else 1

    @property
    def formula(self) -> str | None:
        return self.cls.mean_formula

    @property
    def derivative(self) -> str | None:
        return self.cls.mean_derivative


@dataclass(frozen=True)
class OptimizerEntry:
    """An optimizer by its short name: its class, the options the tools may set, and the
    learning rate used when none is given."""

    name: str
    cls: type
    options: tuple[str, ...]
    default_lr: float

    def supported(self, **options) -> dict:
        """Of ``options``, the ones this optimizer takes (e.g. ``momentum`` only for SGD and
        RMSprop), so a form with one field per option can pass them all."""
        return {k: v for k, v in options.items() if k in self.options}


LOSSES: dict[str, LossEntry] = {
    "bce": LossEntry("bce", nn.BCEWithLogitsLoss, "binary cross-entropy on logits", "binary"),
    "ce": LossEntry("ce", nn.CrossEntropyLoss, "cross-entropy", "classes"),
    "mse": LossEntry("mse", nn.MSELoss, "mean squared error", "values"),
}

OPTIMIZERS: dict[str, OptimizerEntry] = {
    "sgd": OptimizerEntry("sgd", optim.SGD, ("lr", "momentum", "weight_decay"), 0.1),
    "adam": OptimizerEntry("adam", optim.Adam, ("lr", "weight_decay"), 0.01),
    "adamw": OptimizerEntry("adamw", optim.AdamW, ("lr", "weight_decay"), 0.01),
    "rmsprop": OptimizerEntry("rmsprop", optim.RMSprop, ("lr", "momentum", "weight_decay"), 0.01),
    "adagrad": OptimizerEntry("adagrad", optim.Adagrad, ("lr", "weight_decay"), 0.01),
    "nadam": OptimizerEntry("nadam", optim.NAdam, ("lr", "weight_decay"), 0.01),
    "radam": OptimizerEntry("radam", optim.RAdam, ("lr", "weight_decay"), 0.01),
    "adamax": OptimizerEntry("adamax", optim.Adamax, ("lr", "weight_decay"), 0.01),
}

#: Hidden-layer activations by name, each a module class taking no arguments.
ACTIVATIONS: dict[str, type] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "celu": nn.CELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "mish": nn.Mish,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "softsign": nn.Softsign,
    "tanhshrink": nn.Tanhshrink,
}


def _unknown(kind: str, name, known) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(known)}")


def make_loss(name: str):
    """A fresh loss module from its short name (``"ce"`` → ``nn.CrossEntropyLoss()``)."""
    if name not in LOSSES:
        raise _unknown("loss", name, LOSSES)
    return LOSSES[name].cls()


def make_optimizer(name: str, params, **options):
    """An optimizer from its short name; ``lr`` defaults to the entry's ``default_lr``.

    Raises:
        ValueError: an unknown name, or an option this optimizer does not take.
    """
    if name not in OPTIMIZERS:
        raise _unknown("optimizer", name, OPTIMIZERS)
    entry = OPTIMIZERS[name]
    extra = sorted(set(options) - set(entry.options))
    if extra:
        raise ValueError(
            f"optimizer {name!r} takes {', '.join(entry.options)}; not {', '.join(extra)}"
        )
    if options.get("lr") is None:
        options["lr"] = entry.default_lr
    return entry.cls(params, **options)


def make_activation(name: str):
    """A fresh activation module from its name (``"relu"`` → ``nn.ReLU()``)."""
    if name not in ACTIVATIONS:
        raise _unknown("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]()


def loss_key(loss) -> str | None:
    """The short name of a loss module whose class is in :data:`LOSSES` (else None)."""
    for name, entry in LOSSES.items():
        if type(loss) is entry.cls:
            return name
    return None
