"""The update of an explanation: the optimizer's step on every trained parameter."""

from __future__ import annotations

from dataclasses import dataclass


# ---- the update ---------------------------------------------------------------------------------
@dataclass
class ParameterUpdate:
    """One trained parameter before and after the optimizer's step."""

    name: str
    old: list
    grad: list
    new: list

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Update:
    """The optimizer's step (``lr``, ``order``) and the loss before and after it; with class
    names, the class each sample is predicted before and after it (``{"before", "after"}``).
    ``optimizer`` is the step's optimizer (``"Adam(lr=0.001, ...)"``) and ``rule`` its update
    rule, line by line, when ``explain(optimizer=...)`` took the user's; None for plain SGD."""

    lr: float
    order: str
    parameters: list[ParameterUpdate]
    loss_before: float
    loss_after: float | None
    predicted: dict | None = None
    optimizer: str | None = None
    rule: list | None = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["parameters"] = [p.to_dict() for p in self.parameters]
        for key in ("predicted", "optimizer", "rule"):
            if d[key] is None:  # reports without them keep their keys
                del d[key]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Update:
        params = [ParameterUpdate(**p) for p in d["parameters"]]
        return cls(
            d["lr"],
            d["order"],
            params,
            d["loss_before"],
            d["loss_after"],
            d.get("predicted"),
            d.get("optimizer"),
            d.get("rule"),
        )
