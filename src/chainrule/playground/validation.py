"""Check every setting the playground page sends before it reaches the engine.

Each check raises :class:`ValidationError` with one sentence that names the setting, the value
received and what is allowed; the server answers it with HTTP 400. Nothing here imports the web
framework, so the rules are testable (and reusable) on their own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from chainrule import registry

CLASSIFICATION = ("xor", "seed_example", "moons", "circles", "spirals", "blobs", "upload")
# Functions to fit: ``sine`` has one input (y = sin x), ``bump`` and ``waves`` two.
REGRESSION = ("sine", "bump", "waves")
DATASETS = CLASSIFICATION + REGRESSION
# The menus' names come from chainrule.registry, the vocabulary the command line shares.
ACTIVATIONS = tuple(registry.ACTIVATIONS)
LOSSES = ("auto", *registry.LOSSES)
OPTIMIZERS = tuple(registry.OPTIMIZERS)

# The explanation spells out every path from a weight to the output, so its cost grows as
# width ** depth; these limits keep a click on a first-layer weight well under a second.
MAX_HIDDEN_LAYERS = 6
MAX_WIDTH = 8
MIN_SAMPLES, MAX_SAMPLES = 10, 1000
LR_RANGE = (1e-5, 10.0)
MAX_BATCH = 512
MAX_SEED = 2**31 - 1
MAX_UPLOAD_BYTES = 1 << 20  # 1 MiB of CSV
MAX_UPLOAD_ROWS = 5000
MAX_CLASSES = 8
MAX_WEIGHT = 100.0  # a weight set by hand lies in [-MAX_WEIGHT, MAX_WEIGHT]


class ValidationError(ValueError):
    """A setting the playground refuses; the message says which, and what is allowed."""


@dataclass(frozen=True)
class Config:
    """One validated playground run: data, network, optimizer and seed."""

    dataset: str = "moons"
    samples: int = 200
    noise: float = 0.2
    validation: float = 0.2
    hidden: tuple = (4, 4)
    activation: str = "tanh"
    loss: str = "auto"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    batch_size: int = 10
    weight_decay: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out


FIELDS = tuple(Config.__dataclass_fields__)


def _choice(name: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be a whole number; got {value!r}")
    if not low <= value <= high:
        raise ValidationError(f"{name} must lie between {low} and {high}; got {value}")
    return value


def _number(name: str, value, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValidationError(f"{name} must be a finite number; got {value}")
    if value < low or value > high or (open_low and value == low):
        bracket = "(" if open_low else "["
        raise ValidationError(f"{name} must lie in {bracket}{low:g}, {high:g}]; got {value:g}")
    return value


def _hidden(value) -> tuple:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ValidationError(
                f"hidden must list neurons per layer, like 4,4; got {value!r}"
            ) from None
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"hidden must be a list of layer widths, like [4, 4]; got {value!r}")
    if len(value) > MAX_HIDDEN_LAYERS:
        raise ValidationError(
            f"hidden: at most {MAX_HIDDEN_LAYERS} hidden layers; got {len(value)}"
        )
    return tuple(_int("hidden layer width", w, 1, MAX_WIDTH) for w in value)


def validate_config(raw, base: Config | None = None) -> Config:
    """A :class:`Config` from the page's JSON (missing keys keep ``base``'s values).

    Raises:
        ValidationError: an unknown key, a wrong type, or a value outside its range.
    """
    if not isinstance(raw, dict):
        raise ValidationError(f"settings must be a JSON object; got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown setting {unknown[0]!r}; known settings: {', '.join(FIELDS)}"
        )
    merged = (base or Config()).to_dict()
    merged.update(raw)
    return Config(
        dataset=_choice("dataset", merged["dataset"], DATASETS),
        samples=_int("samples", merged["samples"], MIN_SAMPLES, MAX_SAMPLES),
        noise=_number("noise", merged["noise"], 0.0, 1.0),
        validation=_number("validation", merged["validation"], 0.0, 0.5),
        hidden=_hidden(merged["hidden"]),
        activation=_choice("activation", merged["activation"], ACTIVATIONS),
        loss=_choice("loss", merged["loss"], LOSSES),
        optimizer=_choice("optimizer", merged["optimizer"], OPTIMIZERS),
        lr=_number("lr (learning rate)", merged["lr"], *LR_RANGE),
        momentum=_number("momentum", merged["momentum"], 0.0, 0.99),
        batch_size=_int("batch_size", merged["batch_size"], 1, MAX_BATCH),
        weight_decay=_number("weight_decay", merged["weight_decay"], 0.0, 1.0),
        seed=_int("seed", merged["seed"], 0, MAX_SEED),
    )


def task_of(dataset: str) -> str:
    """``"regression"`` for the functions to fit, ``"classification"`` for the rest."""
    return "regression" if dataset in REGRESSION else "classification"


def weight_value(value) -> float:
    """A value typed in for one weight: a finite number within ±MAX_WEIGHT."""
    return _number("weight value", value, -MAX_WEIGHT, MAX_WEIGHT)


def request_object(raw, allowed: tuple) -> dict:
    """A JSON request body that must be an object with only ``allowed`` keys."""
    if not isinstance(raw, dict):
        raise ValidationError(f"the request body must be a JSON object; got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}; expected {', '.join(allowed)}")
    return raw


def sample_index(value, count: int, what: str = "sample") -> int:
    if count <= 0:
        raise ValidationError(f"there are no {what}s to choose from")
    return _int(what, value, 0, count - 1)


def limits() -> dict:
    """The ranges the page shows next to its inputs (the same numbers the checks use)."""
    return {
        "datasets": list(DATASETS),
        "regression": list(REGRESSION),
        "max_weight": MAX_WEIGHT,
        "activations": list(ACTIVATIONS),
        "losses": list(LOSSES),
        "optimizers": list(OPTIMIZERS),
        "max_hidden_layers": MAX_HIDDEN_LAYERS,
        "max_width": MAX_WIDTH,
        "samples": [MIN_SAMPLES, MAX_SAMPLES],
        "lr": list(LR_RANGE),
        "max_batch": MAX_BATCH,
        "max_seed": MAX_SEED,
        "max_upload_bytes": MAX_UPLOAD_BYTES,
        "max_upload_rows": MAX_UPLOAD_ROWS,
    }
