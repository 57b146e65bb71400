"""The whole explanation: every section's numbers, serialised as ``report.data``."""

from __future__ import annotations

from dataclasses import dataclass, field

from chainrule.explain.datamodel.chains import Chain
from chainrule.explain.datamodel.graph import GraphNode
from chainrule.explain.datamodel.passes import (
    Backward,
    Check,
    Forward,
    Loss,
    Parameter,
)
from chainrule.explain.datamodel.update import Update


# ---- the whole explanation ----------------------------------------------------------------------
@dataclass
class Explanation:
    """Every number of one explanation, section by section."""

    title: str
    lr: float
    batch_size: int
    update_order: str
    names: str  # "default" or "classic"
    parameters: list[Parameter]
    forward: Forward
    loss: Loss
    backward: Backward
    chains: list[Chain]
    update: Update
    graph: list[GraphNode]
    checks: list[Check]
    output: list | None = None
    target: list | None = None
    dtype: str = "float64"
    kind: str = "explain"
    notes: list[str] = field(default_factory=list)  # caveats the intro states (eval mode)
    class_names: list[str] | None = None  # what the target's class indices stand for

    @property
    def layered(self) -> bool:
        """Whether the network was read as layers (else: op by op)."""
        return self.forward.layers is not None

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self) -> dict:
        d = {
            "kind": self.kind,
            "title": self.title,
            "dtype": self.dtype,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "update_order": self.update_order,
            "names": self.names,
            "parameters": [p.to_dict() for p in self.parameters],
        }
        if self.notes:
            d["notes"] = list(self.notes)
        if self.class_names is not None:
            d["class_names"] = list(self.class_names)
        loss = {"loss": self.loss.to_dict()}
        if self.layered:  # the keys in the order the sections are written
            d.update(forward=self.forward.to_dict(), **loss, output=self.output)
            if self.target is not None:
                d["target"] = self.target
        else:
            d.update(**loss, forward=self.forward.to_dict())
        d.update(
            backward=self.backward.to_dict(),
            chains=[c.to_dict() for c in self.chains],
            update=self.update.to_dict(),
            loss_after=self.update.loss_after,
            graph=[n.to_dict() for n in self.graph],
            checks=[c.to_dict() for c in self.checks],
        )
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Explanation:
        return cls(
            title=d["title"],
            lr=d["lr"],
            batch_size=d["batch_size"],
            update_order=d["update_order"],
            names=d["names"],
            parameters=[Parameter(**p) for p in d["parameters"]],
            forward=Forward.from_dict(d["forward"]),
            loss=Loss(**d["loss"]),
            backward=Backward.from_dict(d["backward"]),
            chains=[Chain.from_dict(c) for c in d["chains"]],
            update=Update.from_dict(d["update"]),
            graph=[GraphNode(**n) for n in d["graph"]],
            checks=[Check(**c) for c in d["checks"]],
            output=d.get("output"),
            target=d.get("target"),
            dtype=d["dtype"],
            kind=d["kind"],
            notes=list(d.get("notes", ())),
            class_names=d.get("class_names"),
        )
