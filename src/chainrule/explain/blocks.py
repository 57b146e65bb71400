"""The pieces a report is made of: equation tokens (symbols, numbers, ∂a/∂b, formulas), each
with a plain-text and a LaTeX form, and the blocks (heading, paragraph, equation, table) that the
section writers produce and the format backends (``render_*.py``) print."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chainrule.explain.format import fmt

__all__ = ["D", "Eq", "F", "Heading", "Num", "Para", "Sym", "Table", "fmt", "tex_name", "tex_text"]


# ---- equation tokens: each renders as plain text and as LaTeX ---------------------------------
_TEX_CHARS = {
    "σ": r"\sigma ",
    "·": r"\cdot ",
    "×": r"\times ",
    "−": "-",
    "Σ": r"\sum ",
    "∂": r"\partial ",
    "²": "^{2}",
    "√": r"\sqrt ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "δ": r"\delta ",
    "ᵀ": r"^{\top}",
    "½": r"\tfrac{1}{2}",
    "÷": r"\div ",
    "→": r"\to ",
    "≈": r"\approx ",
    "η": r"\eta ",
    "θ": r"\theta ",
    "ε": r"\varepsilon ",
    "α": r"\alpha ",
    "β": r"\beta ",
    "λ": r"\lambda ",
    "Φ": r"\Phi ",
    "|": r"\vert ",
    "…": r"\dots ",
}
_TEX_FUNCS = {"ln", "exp", "tanh", "log", "max", "min", "sign"}


def tex_text(text: str) -> str:
    """Unicode maths (as the ops' ``formulas`` are written) to LaTeX; runs of words become
    ``\\text{...}`` with their spaces, known functions (ln, exp, tanh) stay maths."""
    out = []
    for part in re.split(r"([A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,})*)", text):
        if re.fullmatch(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,})*", part or "-"):
            if part in _TEX_FUNCS:
                out.append("\\" + part + " ")
            else:
                out.append(r"\text{ " + part + " }")
            continue
        part = re.sub(r" {2,}", r" \\quad ", part)
        for ch in part:
            if ch in "{}_#%&$":
                out.append("\\" + ch)
            else:
                out.append(_TEX_CHARS.get(ch, ch))
    return "".join(out)


def tex_name(name: str) -> str:
    """A symbol's LaTeX: ``w5`` → w_{5}, ``net_h1`` → \\mathrm{net}_{h1}, dotted names in tt."""
    if name in ("E", "L"):
        return name
    m = re.fullmatch(r"([A-Za-zδθ]+)_([A-Za-z0-9]+)", name)
    if m:
        head = (
            tex_text(m.group(1))
            if m.group(1) in ("δ", "θ")
            else (m.group(1) if len(m.group(1)) == 1 else r"\mathrm{" + m.group(1) + "}")
        )
        sub = m.group(2)
        sub = r"\mathrm{" + sub + "}" if len(sub) > 1 and sub.isalpha() else sub  # θ_new
        return head + "_{" + sub + "}"
    m = re.fullmatch(r"([A-Za-z])(\d+)", name)
    if m:
        return m.group(1) + "_{" + m.group(2) + "}"
    if re.fullmatch(r"[A-Za-z]", name):
        return name
    escaped = name.replace("\\", "").replace("_", r"\_").replace("#", r"\#")
    return r"\texttt{" + escaped + "}"


@dataclass(frozen=True)
class Sym:
    """A named quantity (``w5``, ``out_h1``, ``0.weight[1, 0]``)."""

    name: str

    def text(self) -> str:
        return self.name

    def tex(self) -> str:
        return tex_name(self.name)


@dataclass(frozen=True)
class Num:
    """A number; ``paren=True`` wraps a negative one in parentheses (an operand, not a result)."""

    value: float
    decimals: int = 9
    paren: bool = False

    def text(self) -> str:
        text = fmt(self.value, self.decimals)
        return f"({text})" if self.paren and text.startswith("-") else text

    def tex(self) -> str:
        return self.text()


@dataclass(frozen=True)
class D:
    """∂top/∂bottom."""

    top: str
    bottom: str

    def text(self) -> str:
        return f"∂{self.top}/∂{self.bottom}"

    def tex(self) -> str:
        return (
            r"\frac{\partial " + tex_name(self.top) + r"}{\partial " + tex_name(self.bottom) + "}"
        )


@dataclass(frozen=True)
class F:
    """A formula written in Unicode maths (an op's ``formulas`` entry, a loss formula)."""

    formula: str

    def text(self) -> str:
        return self.formula

    def tex(self) -> str:
        return tex_text(self.formula)


def _token_text(token) -> str:
    return token if isinstance(token, str) else token.text()


def _token_tex(token) -> str:
    return tex_text(token) if isinstance(token, str) else token.tex()


# ---- blocks -----------------------------------------------------------------------------------
@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Eq:
    tokens: list

    def text(self) -> str:
        return "".join(_token_text(t) for t in self.tokens)

    def tex(self) -> str:
        return "".join(_token_tex(t) for t in self.tokens)


@dataclass
class Table:
    header: list
    rows: list
    numeric: list = field(default_factory=list)  # per column: right-align?
    caption: str = ""

    def align(self) -> list:
        return self.numeric or [False] * len(self.header)
