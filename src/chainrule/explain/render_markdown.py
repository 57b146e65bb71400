"""Markdown with LaTeX maths ($$…$$), as GitHub and Jupyter render it."""

from __future__ import annotations

from chainrule.explain.blocks import Eq, Heading, Para, Table


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def render(report) -> str:
    return render_blocks(report.blocks)


def render_blocks(blocks, shift: int = 0) -> str:
    """Markdown for a list of blocks; ``shift`` demotes every heading by that many levels."""
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * min(6, block.level + shift) + " " + block.text)
            out.append("")
        elif isinstance(block, Para):
            out.append(block.text)
            out.append("")
        elif isinstance(block, Eq):
            out.append("$$" + block.tex() + "$$")
            out.append("")
        elif isinstance(block, Table):
            align = ["---:" if right else ":---" for right in block.align()]
            out.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
            out.append("| " + " | ".join(align) + " |")
            for row in block.rows:
                out.append("| " + " | ".join(_cell(c) for c in row) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
