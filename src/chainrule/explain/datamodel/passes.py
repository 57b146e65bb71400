"""The forward and backward passes of an explanation, its parameters, loss and checks."""

from __future__ import annotations

from dataclasses import dataclass, field


# ---- parameters and the forward pass ----------------------------------------------------------
@dataclass
class Parameter:
    """One parameter tensor of the explained model: its values and the engine's gradient."""

    name: str
    shape: list
    requires_grad: bool
    values: list
    grad: list | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ForwardLayer:
    """One layer of the forward pass: z = x·Wᵀ + b and a = f(z), every sample."""

    index: int
    weight: str
    bias: str | None
    activation: str
    z: list
    a: list

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ForwardNode:
    """One node of a graph explained op by op (its value as printed)."""

    name: str
    op: str
    computes: str
    value: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Forward:
    """The forward pass: layer by layer (``input`` and ``layers``) or node by node (``nodes``)."""

    input: list | None = None
    layers: list[ForwardLayer] | None = None
    nodes: list[ForwardNode] | None = None

    def to_dict(self) -> dict:
        if self.nodes is not None:
            return {"nodes": [n.to_dict() for n in self.nodes]}
        return {"input": self.input, "layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, d: dict) -> Forward:
        if "nodes" in d:
            return cls(nodes=[ForwardNode(**n) for n in d["nodes"]])
        return cls(input=d["input"], layers=[ForwardLayer(**x) for x in d["layers"]])


# ---- the backward pass ------------------------------------------------------------------------
@dataclass
class BackwardLayer:
    """One layer's deltas δ = ∂E/∂z (with f'(z) where computed element by element), the engine's
    ∂E/∂z beside them, and the gradients of the layer's weight and bias."""

    index: int
    delta: list
    f_prime: list | None
    engine_dz: list
    grad_weight: list | None
    grad_bias: list | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Term:
    """One use of a node: ∂E/∂output of the op that uses it times the op's local factor."""

    output: str
    upstream: float
    factor: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class BackwardNode:
    """∂E/∂node of one scalar node, summed over its uses (``terms``); ``formula`` is the local
    derivative when the node's one use is the last op."""

    name: str
    grad: float
    engine_grad: float | None
    terms: list[Term] = field(default_factory=list)
    formula: str | None = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["terms"] = [t.to_dict() for t in self.terms]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BackwardNode:
        terms = [Term(**t) for t in d.get("terms", ())]
        return cls(d["name"], d["grad"], d["engine_grad"], terms, d.get("formula"))


@dataclass
class Backward:
    """The backward pass: ∂E/∂output and the layers' deltas, or node by node."""

    dE_doutput: list | None = None  # noqa: N815 - the JSON key
    layers: list[BackwardLayer] | None = None
    nodes: list[BackwardNode] | None = None

    def to_dict(self) -> dict:
        if self.nodes is not None:
            return {"nodes": [n.to_dict() for n in self.nodes]}
        return {"dE_doutput": self.dE_doutput, "layers": [x.to_dict() for x in self.layers]}

    @classmethod
    def from_dict(cls, d: dict) -> Backward:
        if "nodes" in d:
            return cls(nodes=[BackwardNode.from_dict(n) for n in d["nodes"]])
        return cls(d["dE_doutput"], [BackwardLayer(**x) for x in d["layers"]])


@dataclass
class Check:
    """How far a number the explanation computed is from the engine's (0 up to rounding)."""

    what: str
    max_abs_diff: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Loss:
    formula: str
    value: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)
