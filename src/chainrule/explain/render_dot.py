"""Graphviz DOT of the recorded graph: one node per tensor (value and gradient), one per op."""

from __future__ import annotations


def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(report) -> str:
    rows = report.data.get("graph") or report.data.get("nodes") or []
    lines = [
        "digraph chainrule {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#57606a"];',
    ]
    for r in rows:
        is_op = bool(r["inputs"])
        shape = "x".join(map(str, r["shape"])) or "scalar"
        label = f"{r['name']}\\n{shape}\\nvalue {r['value']}\\ngrad {r['grad']}"
        kind = r["op"]
        if is_op:
            fill = "#fff8c5"
        elif kind.startswith("parameter"):
            fill = "#dafbe1"
        elif kind in ("input", "target"):
            fill = "#ddf4ff"
        else:
            fill = "#f6f8fa"
        lines.append(
            f'  t{r["id"]} [shape=box, style="rounded,filled", fillcolor={_q(fill)}, '
            f"label={_q(label)}];"
        )
        if is_op:
            formulas = {f["input"]: f for f in r["formulas"]}
            lines.append(
                f'  op{r["id"]} [shape=ellipse, style=filled, fillcolor="#ffebe9", '
                f"label={_q(r['op'])}];"
            )
            lines.append(f"  op{r['id']} -> t{r['id']};")
            for i in r["inputs"]:
                f = formulas.get(i)
                edge = "" if f is None else f" [label={_q(f['formula'])}, fontsize=8]"
                lines.append(f"  t{i} -> op{r['id']}{edge};")
    lines.append("}")
    return "\n".join(lines) + "\n"
