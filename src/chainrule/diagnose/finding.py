"""One finding of the diagnosis: a sentence, the numbers behind it and a fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["SEVERITIES", "Finding"]

SEVERITIES = ("critical", "warning", "info")


@dataclass
class Finding:
    """One thing that went wrong, said in plain language.

    Attributes:
        code: a stable identifier (``"VANISHING_GRADIENTS"``, ``"DEAD_RELU"``, ...).
        severity: ``"critical"`` (the run's result is not usable), ``"warning"`` or ``"info"``.
        sentence: what happened, with the numbers that show it.
        fix: what to change.
        evidence: the numbers behind the sentence, by name.
        explanation: for vanishing gradients and dead ReLUs, the chain rule written out along
            one path with the real numbers (``None`` when it could not be computed).
        chain: the data behind ``explanation`` (factors with their values), JSON-able.
    """

    code: str
    severity: str
    sentence: str
    fix: str
    evidence: dict = field(default_factory=dict)
    explanation: str | None = None
    chain: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.code}: {self.sentence}\n  fix: {self.fix}"
        if self.explanation:
            text += "\n" + "\n".join("  " + line for line in self.explanation.splitlines())
        return text
