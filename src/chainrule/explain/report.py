"""The Report object: a document of blocks (headings, paragraphs, equations, tables) plus the
data behind it (every number, for JSON), rendered to text, Markdown, HTML, terminal and DOT."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

# ---- numbers ----------------------------------------------------------------------------------


def fmt(value, decimals: int = 9) -> str:
    """A number the way a worked example prints it: ``decimals`` places (more for tiny values,
    so at least 6 significant digits show), trailing zeros dropped."""
    v = float(value)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1e7 or a < 1e-9:
        return f"{v:.6e}"
    places = max(decimals, 5 - math.floor(math.log10(a)))
    text = f"{v:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


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
    m = re.fullmatch(r"([A-Za-zδ]+)_([A-Za-z0-9]+)", name)
    if m:
        head = (
            tex_text(m.group(1))
            if m.group(1) == "δ"
            else (m.group(1) if len(m.group(1)) == 1 else r"\mathrm{" + m.group(1) + "}")
        )
        return head + "_{" + m.group(2) + "}"
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


# ---- the report -------------------------------------------------------------------------------
class Report:
    """An explanation: ``str(report)`` is plain text; ``.markdown()``, ``.html()``, ``.json()``,
    ``.terminal()`` and ``.dot()`` render it in other formats; ``.data`` holds every number.

    Example:
        >>> from chainrule.explain import examples
        >>> report = examples.mazur()
        >>> round(report.data["loss"]["value"], 9)
        0.298371109
    """

    def __init__(self, title: str, blocks: list, data: dict, graph=None, names=None):
        self.title = title
        self.blocks = blocks
        self.data = data
        self._graph = graph
        self._names = names

    @property
    def graph(self):
        """The :class:`~chainrule.explain.graph.Graph` the report was read from."""
        return self._graph[0] if self._graph else None

    # ---- formats ------------------------------------------------------------------------
    def text(self) -> str:
        from chainrule.explain.render_text import render

        return render(self)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {len(self.blocks)} blocks>"

    def markdown(self) -> str:
        from chainrule.explain.render_markdown import render

        return render(self)

    def html(self) -> str:
        from chainrule.explain.render_html import render

        return render(self)

    def to_dict(self) -> dict:
        return self.data

    def json(self, indent: int | None = 2) -> str:
        from chainrule.explain.render_json import render

        return render(self, indent=indent)

    def terminal(self, console=None) -> None:
        """Print the report to the terminal with rich: aligned tables, colour (plain text when
        rich is not installed). ``console`` is an optional ``rich.console.Console``."""
        from chainrule.explain.render_terminal import print_report

        print_report(self, console)

    def terminal_text(self, width: int = 120, color: bool = True) -> str:
        """What :meth:`terminal` prints, as a string (ANSI colour codes when ``color``)."""
        from chainrule.explain.render_terminal import render

        return render(self, width=width, color=color)

    def dot(self) -> str:
        """The computation graph in Graphviz DOT, values and gradients on each node."""
        from chainrule.explain.render_dot import render

        return render(self)

    def render_graph(self, path, format: str | None = None) -> str:  # noqa: A002
        """Write the graph as SVG/PNG/PDF with Graphviz's ``dot`` binary; returns the path.

        Raises:
            RuntimeError: the ``dot`` binary is not installed (the message says how to get it,
                and that ``report.dot()`` works without it).
        """
        path = os.fspath(path)
        format = format or os.path.splitext(path)[1].lstrip(".") or "svg"
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(
                f"cannot write {path}: Graphviz's 'dot' program is not installed (apt install "
                f"graphviz, brew install graphviz, or conda install graphviz). report.dot() gives "
                f"the DOT text without it; paste it into any Graphviz viewer"
            )
        subprocess.run(
            [exe, f"-T{format}", "-o", path], input=self.dot().encode(), check=True, timeout=60
        )
        return path

    def save(self, path) -> str:
        """Write the report; the extension picks the format (.txt .md .html .json .dot .svg)."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        renderers = {
            ".txt": self.text,
            ".md": self.markdown,
            ".markdown": self.markdown,
            ".html": self.html,
            ".htm": self.html,
            ".json": self.json,
            ".dot": self.dot,
            ".gv": self.dot,
        }
        if ext in (".svg", ".png", ".pdf"):
            return self.render_graph(path)
        if ext not in renderers:
            raise ValueError(
                f"cannot tell the format of {path!r} from its extension; use one of "
                f"{', '.join(sorted(renderers) + ['.svg', '.png', '.pdf'])}"
            )
        from chainrule.io.atomic import atomic_write

        atomic_write(path, renderers[ext]().encode("utf-8"))
        return path

    # ---- notebooks ----------------------------------------------------------------------
    def _repr_html_(self) -> str:
        from chainrule.explain.render_html import fragment

        return fragment(self)

    def _repr_markdown_(self) -> str:
        return self.markdown()


def dumps(data, indent=2) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=True)
