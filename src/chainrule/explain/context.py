"""What an explanation is computed and written with: one :class:`ExplainContext`, built by
``explain()`` / ``explain_graph()`` and passed to the numbers layer and the section writers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_WIDTH = 8  # neurons per layer written out one by one
MAX_FAN_IN = 8  # inputs per neuron written out term by term
MAX_SAMPLES = 4  # samples of a batch written out one by one
MAX_PATHS = 6  # paths written out for one parameter
# Paths listed (in report.data) for one parameter; beyond this many, the paths are counted and
# summed without listing them, and only the ones with the largest |product| are listed.
MAX_LISTED_PATHS = 256
MAX_UPDATE_ROWS = 64  # parameter elements listed in the update table
MAX_TRACE_ROWS = 60  # graph nodes listed in the graph table of an explanation
MAX_PER_SAMPLE = 16  # largest batch whose samples are re-run one by one


@dataclass(frozen=True)
class ExplainContext:
    """The settings of one explanation and the callables that re-run its computation.

    Attributes:
        lr: learning rate of the optimizer step in the update section.
        param: the parameter element name(s) to spell out; None picks them.
        names: ``"default"`` (dotted names) or ``"classic"`` (w1…, net_h1, out_o1).
        update_order: ``"simultaneous"`` or ``"sequential"`` (layers from the output back).
        title: the report's title.
        decimals: decimal places printed.
        max_paths: the most paths listed for one parameter element.
        loss_formula, loss_derivative: the loss written out, and ∂E/∂output, when known.
        rerun: ``rerun(model, x, y) -> (output, loss)``, the forward pass of a model copy.
        fresh_model: ``fresh_model()`` -> a new float64 copy of the model, for the update.
        recompute: ``recompute({name: array}) -> float``, the loss of a graph without a model
            at new leaf values.
        class_names: the names of the classes the target's indices stand for, when known.
        decide: ``decide(output) -> class indices`` (or None where the output does not say).
        optimizer: ``optimizer({name: twin parameter})`` -> a copy of the user's optimizer over
            the twin (``explain(optimizer=...)``); None: one step of plain SGD with ``lr``.
        optimizer_name, optimizer_rule: its description and its update rule's lines.
    """

    lr: float = 0.1
    param: object = None
    names: str = "default"
    update_order: str = "simultaneous"
    title: str = "Backpropagation, explained"
    decimals: int = 9
    max_paths: int = MAX_LISTED_PATHS
    loss_formula: str | None = None
    loss_derivative: str | None = None
    rerun: Callable | None = None
    fresh_model: Callable | None = None
    recompute: Callable | None = None
    class_names: tuple | None = None
    decide: Callable | None = None
    optimizer: Callable | None = None
    optimizer_name: str | None = None
    optimizer_rule: tuple | None = None

    def __post_init__(self):
        if self.update_order not in ("simultaneous", "sequential"):
            raise ValueError(
                f"update_order must be 'simultaneous' or 'sequential', got {self.update_order!r}"
            )
        if self.optimizer is not None and self.update_order == "sequential":
            raise ValueError(
                "update_order='sequential' takes plain gradient-descent steps layer by layer; "
                "with optimizer=, leave update_order as 'simultaneous' (as optimizer.step())"
            )
        if self.names not in ("default", "classic"):
            raise ValueError(f"names must be None, 'default' or 'classic', got {self.names!r}")
        max_paths = self.max_paths
        if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
            raise ValueError(f"max_paths must be a positive integer, got {max_paths!r}")
        object.__setattr__(self, "lr", float(self.lr))

    @property
    def classic(self) -> bool:
        return self.names == "classic"
