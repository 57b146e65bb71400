"""The Report object: a document of blocks (headings, paragraphs, equations, tables) plus the
data model behind it (every number, for JSON), rendered to text, Markdown, HTML, terminal and DOT.

The format backends (``render_*.py``) read the blocks from :mod:`chainrule.explain.blocks`, so
this module imports them and none of them imports it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from chainrule.explain import (
    render_dot,
    render_html,
    render_json,
    render_markdown,
    render_terminal,
    render_text,
)

# The blocks and tokens, importable from here as before the split.
from chainrule.explain.blocks import D, Eq, F, Heading, Num, Para, Sym, Table, tex_name, tex_text
from chainrule.explain.format import fmt

__all__ = [
    "D",
    "Eq",
    "F",
    "Heading",
    "Num",
    "Para",
    "Report",
    "Sym",
    "Table",
    "dumps",
    "fmt",
    "tex_name",
    "tex_text",
]


class Report:
    """An explanation: ``str(report)`` is plain text 80 columns wide (``.text(width=...)`` for
    another width or none); ``.markdown()``, ``.html()``, ``.json()``,
    ``.terminal()`` and ``.dot()`` render it in other formats; ``.data`` holds every number.

    Example:
        >>> from chainrule.explain import examples
        >>> report = examples.mazur()
        >>> round(report.data["loss"]["value"], 9)
        0.298371109
    """

    def __init__(
        self, title: str, blocks: list, data: dict, graph=None, names=None, explanation=None
    ):
        self.title = title
        self.blocks = blocks
        self.data = data
        self._graph = graph
        self._names = names
        self._explanation = explanation

    @property
    def explanation(self):
        """The data model the report was written from (an
        :class:`~chainrule.explain.model.Explanation` or :class:`~chainrule.explain.model.Trace`);
        ``report.data`` is its ``to_dict()``."""
        return self._explanation

    @property
    def graph(self):
        """The :class:`~chainrule.explain.graph.Graph` the report was read from."""
        return self._graph[0] if self._graph else None

    # ---- formats ------------------------------------------------------------------------
    def text(self, width: int | None = render_text.WIDTH) -> str:
        """Plain text at most ``width`` columns wide (80 by default, as ``str(report)``): long
        equations break after an operator with a hanging indent, wide tables wrap their cells
        or list each row as ``column: value`` lines. ``width=None``: every equation and table
        row on one line, however long (a wide editor, ``grep``)."""
        return render_text.render(self, width)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {len(self.blocks)} blocks>"

    def markdown(self) -> str:
        return render_markdown.render(self)

    def html(self) -> str:
        return render_html.render(self)

    def to_dict(self) -> dict:
        return self.data

    def json(self, indent: int | None = 2) -> str:
        """The data model as JSON (``report.data``: every number of every section)."""
        return render_json.render(self, indent=indent)

    def terminal(self, console=None) -> None:
        """Print the report to the terminal with rich: aligned tables, colour (plain text when
        rich is not installed). ``console`` is an optional ``rich.console.Console``."""
        render_terminal.print_report(self, console)

    def terminal_text(self, width: int = 120, color: bool = True) -> str:
        """What :meth:`terminal` prints, as a string (ANSI colour codes when ``color``)."""
        return render_terminal.render(self, width=width, color=color)

    def dot(self) -> str:
        """The computation graph in Graphviz DOT, values and gradients on each node."""
        return render_dot.render(self)

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
        return render_html.fragment(self)

    def _repr_markdown_(self) -> str:
        return self.markdown()


def dumps(data, indent=2) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=True)
