"""A self-contained HTML page: inline CSS, no scripts, nothing fetched from the network."""

from __future__ import annotations

import html

from chainrule.explain.blocks import D, Eq, F, Heading, Num, Para, Sym, Table

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:72rem;margin:2rem auto;
padding:0 1rem;color:#1f2328;line-height:1.5}
h1{border-bottom:2px solid #d0d7de;padding-bottom:.3rem}h2{border-bottom:1px solid #d0d7de}
.eq{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
padding:.35rem .6rem;margin:.25rem 0;border-radius:6px;overflow-x:auto;white-space:pre}
.num{color:#0550ae;font-weight:600}.sym{color:#116329}.formula{color:#8250df}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.25rem .55rem}th{background:#f6f8fa}
td.r{text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace}
p.note{color:#57606a}
"""


def _eq(eq: Eq) -> str:
    parts = []
    for token in eq.tokens:
        text = html.escape(token if isinstance(token, str) else token.text())
        if isinstance(token, Num):
            parts.append(f'<span class="num">{text}</span>')
        elif isinstance(token, (Sym, D)):
            parts.append(f'<span class="sym">{text}</span>')
        elif isinstance(token, F):
            parts.append(f'<span class="formula">{text}</span>')
        else:
            parts.append(text)
    return '<div class="eq">' + "".join(parts) + "</div>"


def body(report) -> str:
    out = []
    for block in report.blocks:
        if isinstance(block, Heading):
            level = min(block.level, 6)
            out.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
        elif isinstance(block, Para):
            out.append(f'<p class="note">{html.escape(block.text)}</p>')
        elif isinstance(block, Eq):
            out.append(_eq(block))
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in block.header)
            rows = []
            for row in block.rows:
                cells = "".join(
                    f'<td class="r">{html.escape(str(c))}</td>'
                    if right
                    else f"<td>{html.escape(str(c))}</td>"
                    for c, right in zip(row, block.align())
                )
                rows.append(f"<tr>{cells}</tr>")
            out.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
    return "\n".join(out)


def fragment(report) -> str:
    """For notebooks: the report in a div, its CSS scoped to that div."""
    rules = []
    for rule in _CSS.replace("\n", "").split("}"):
        if "{" not in rule:
            continue
        selectors, body_css = rule.split("{", 1)
        scoped = ",".join(
            ".chainrule-report" if sel.strip() == "body" else f".chainrule-report {sel.strip()}"
            for sel in selectors.split(",")
        )
        rules.append(f"{scoped}{{{body_css}}}")
    return f'<div class="chainrule-report"><style>{"".join(rules)}</style>\n{body(report)}\n</div>'


def render(report) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body(report)}\n</body></html>\n"
    )
