"""The chain rule of an explanation: each chosen parameter element's paths and factors."""

from __future__ import annotations

from dataclasses import dataclass, field


def _pick(d: dict, keys: tuple) -> dict:
    return {k: d[k] for k in keys if k in d}


# ---- the chain rule -----------------------------------------------------------------------------
@dataclass
class Factor:
    """A local factor ∂top/∂bottom of one step of a path: the op's formula and its value;
    ``refers_to`` says which numbers the formula's letters stand for."""

    top: str
    bottom: str
    formula: str
    value: float
    refers_to: str = ""

    @property
    def symbol(self) -> str:
        return f"∂{self.top}/∂{self.bottom}"

    def to_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "formula": self.formula,
            "refers_to": self.refers_to,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Factor:
        top, _, bottom = d["symbol"][1:].partition("/∂")
        return cls(top, bottom, d["formula"], d["value"], d["refers_to"])


@dataclass
class Path:
    """One path from a parameter element to the loss: its factors (loss end first), their
    product, and the sample of the batch it runs through."""

    sample: int
    factors: list[Factor]
    product: float

    def to_dict(self) -> dict:
        return {
            "sample": self.sample,
            "factors": [f.to_dict() for f in self.factors],
            "product": self.product,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Path:
        return cls(d["sample"], [Factor.from_dict(f) for f in d["factors"]], d["product"])


@dataclass
class PerSample:
    """A batch's gradient split by sample: each sample's paths' sum, and the engine's gradient
    of each sample alone, combined (``mean`` or ``sum``) into the batch gradient; ``None``
    when neither gives it (a loss that weighs its samples unequally)."""

    contributions: list
    engine_per_sample: list
    combined_by: str | None
    combined: float | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Use:
    """One op that reads a parameter used by several ops (a recurrent layer's weight, read once
    per time step; a tied weight): its node's name and the share of the gradient that reaches
    the parameter through it, the sum of the paths that start there."""

    node: str
    share: float
    path_count: int
    label: str = ""  # where it runs: "t=3", "call 2, t=3" (a layer called twice), "call 2"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Chain:
    """The chain rule for one parameter element: the paths listed, how many there are, the
    sum over the ones not listed, the total and the engine's ``.grad``."""

    param: str
    paths: list[Path] = field(default_factory=list)
    path_count: int = 0
    paths_not_listed: int = 0
    rest_total: float = 0.0
    total: float | None = None
    engine_grad: float | None = None
    per_sample: PerSample | None = None
    frozen: bool = False
    error: str | None = None  # why the paths could not be enumerated
    uses: list[Use] | None = None  # a parameter several ops read: the share through each
    used_by: str = ""  # the layer that reads it several times and why ("an LSTM: ...")

    def to_dict(self) -> dict:
        if self.frozen or self.error is not None:
            d = {"param": self.param, "frozen": self.frozen, "paths": []}
            if self.error is not None:
                d["error"] = self.error
            return {**d, "total": None, "engine_grad": None}
        d = {
            "param": self.param,
            "paths": [p.to_dict() for p in self.paths],
            "path_count": self.path_count,
            "paths_not_listed": self.paths_not_listed,
            "rest_total": self.rest_total,
            "total": self.total,
            "engine_grad": self.engine_grad,
        }
        if self.per_sample is not None:
            d["per_sample"] = self.per_sample.to_dict()
        if self.uses is not None:
            d["uses"] = [u.to_dict() for u in self.uses]
            d["used_by"] = self.used_by
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Chain:
        keys = ("path_count", "paths_not_listed", "rest_total", "total", "engine_grad")
        return cls(
            d["param"],
            [Path.from_dict(p) for p in d["paths"]],
            per_sample=PerSample(**d["per_sample"]) if "per_sample" in d else None,
            frozen=d.get("frozen", False),
            error=d.get("error"),
            uses=[Use(**u) for u in d["uses"]] if "uses" in d else None,
            used_by=d.get("used_by", ""),
            **_pick(d, keys),
        )
