"""Section 3, the chain rule: for each chosen parameter element, each path's factors and their
product, the sum over the paths, a table of the local derivatives, the engine's ``.grad``, and
for a batch each sample's share."""

from __future__ import annotations

from chainrule.explain.blocks import D, Eq, Heading, Para, Table
from chainrule.explain.context import MAX_PATHS


def write(expl, scene, style) -> list:
    blocks = [
        Heading(2, "3. The chain rule, factor by factor"),
        Para(
            "A parameter's gradient is the product of the local derivatives along a path from "
            "it to the loss; where it reaches the loss along several paths, the products "
            "add up. Each factor is the op's own derivative formula, evaluated by its "
            "backward. A path through a local derivative of 0 (a ReLU that is off, an input "
            "of 0) adds nothing, so it is left out."
        ),
    ]
    for chain in expl.chains:
        name = chain.param
        blocks.append(Heading(3, f"∂E/∂{name}"))
        if chain.frozen:
            blocks.append(
                Para(
                    f"{name} is frozen (requires_grad=False): the engine computes no "
                    f"gradient for it and the update leaves it alone."
                )
            )
        elif chain.error is not None:
            blocks.append(Para(f"Not enumerated: {chain.error}."))
        else:
            blocks += _paths(style, chain, expl.batch_size > 1)
            if chain.per_sample is not None:
                blocks += _per_sample(style, name, chain.per_sample)
    return blocks


def _paths(style, chain, batched: bool) -> list:
    name, paths, total, count = chain.param, chain.paths, chain.total, chain.path_count
    if not paths:
        return [
            Para(
                f"Every path from {name} to the loss crosses a local derivative of 0 (a ReLU "
                f"that is off, an input of 0), or there is no path: ∂E/∂{name} = 0."
            )
        ]
    blocks = []
    if count > len(paths):
        blocks.append(
            Para(
                f"{count:,} paths lead from {name} to the loss, too many to list. They are "
                f"counted and summed without listing them: the sum over all the paths "
                f"through a node is its local factor times the sum over the paths on from "
                f"it, so every node is visited once. The {len(paths):,} paths with the "
                f"largest |product| are found by a best-first search (report.json() lists "
                f"them); the largest are written out here."
            )
        )
    shown = paths
    if count > MAX_PATHS:
        shown = sorted(paths, key=lambda p: -abs(p.product))[: MAX_PATHS - 1]
    for n, path in enumerate(shown):
        blocks.append(_path_eq(style, name, path, n, count, batched))
    if count > 1:
        parts = []
        for n, path in enumerate(shown):
            if n:
                parts.append(" + ")
            parts.append(style.arg(path.product))
        if count > len(shown):
            rest = total - sum(p.product for p in shown)
            parts += [f" + (the other {count - len(shown):,} paths: ", style.num(rest), ")"]
        blocks.append(Eq([D("E", name), " = Σ over paths = ", *parts, " = ", style.num(total)]))
    if chain.uses is not None:
        blocks += _uses(style, chain)
    blocks.append(_factor_table(style, shown))
    engine = chain.engine_grad
    if engine is not None:
        blocks.append(
            Para(
                f"The engine's {name}.grad = {style.fmt(engine)} — the same number "
                f"(difference {abs(engine - total):.1e})."
            )
        )
    return blocks


def _uses(style, chain) -> list:
    """A parameter several ops read (a recurrent weight, once per time step): the share of the
    gradient through each op, added up, so the sum over time reads as the chain rule's."""
    tensor = chain.param.split("[")[0]
    nodes = ", ".join(u.node for u in chain.uses)
    why = f"; {chain.used_by}" if chain.used_by else ""
    recurrent = "recurrent" in chain.used_by
    zero = "the zero initial state, for instance" if recurrent else "an input of 0, for instance"
    text = (
        f"{tensor} is read by {len(chain.uses)} ops ({nodes}, in the order the forward pass "
        f"ran them{why}). Its gradient is the sum of one share per use, each the sum of the "
        f"paths that start at that op; a use whose every path crosses a local derivative of 0 "
        f"({zero}) adds 0."
    )
    parts = []
    for n, use in enumerate(chain.uses):
        where = f"{use.node}, {use.label}" if "call" in use.label else use.node
        parts += [" + " if n else "", f"({where}) ", style.arg(use.share)]
    total = sum(u.share for u in chain.uses)
    return [
        Para(text),
        Eq([D("E", chain.param), " = Σ over uses = ", *parts, " = ", style.num(total)]),
    ]


def _path_eq(style, name, path, n: int, count: int, batched: bool) -> Eq:
    sym, nums = [], []
    for f in path.factors:
        if sym:
            sym.append(" · ")
            nums.append(" × ")
        sym.append(D(f.top, f.bottom))
        nums.append(style.arg(f.value))
    lead = [D("E", name)] if count == 1 else [f"path {n + 1}: "]
    if len(path.factors) > 1:
        tail = [" = ", *nums, " = ", style.num(path.product)]
    else:
        tail = [" = ", style.num(path.product)]
    if batched:
        tail.append(f"   (sample {path.sample})")
    return Eq([*lead, " = " if count == 1 else "", *sym, *tail])


def _factor_table(style, paths) -> Table:
    """Each distinct factor of the paths shown: its local derivative formula and value."""
    seen, rows = set(), []
    for path in paths:
        for f in path.factors:
            key = (f.top, f.bottom)
            if key in seen:
                continue
            seen.add(key)
            rows.append([f.symbol, _with_note(f.formula, f.refers_to), style.fmt(f.value)])
    return Table(["factor", "local derivative", "value"], rows, [False, False, True])


def _with_note(formula: str, note: str) -> str:
    if not note:
        return formula
    return f"{formula}  ({note})" if "=" in note else f"{formula}  (= {note})"


def _per_sample(style, name: str, per) -> list:
    rows = [
        [str(b), style.fmt(per.contributions[b]), "—" if e is None else style.fmt(e)]
        for b, e in enumerate(per.engine_per_sample)
    ]
    header = ["sample", "its paths' sum", f"∂E_sample/∂{name} (that sample alone)"]
    blocks = [Table(header, rows, [False, True, True])]
    if per.combined_by is not None:
        text = f" = {per.combined_by} of the per-sample gradients = "
        blocks.append(Eq([D("E", name), text, style.num(per.combined)]))
    elif any(e is not None for e in per.engine_per_sample):
        text = " = sum of the per-sample path sums = "
        blocks.append(Eq([D("E", name), text, style.num(sum(per.contributions))]))
        blocks.append(
            Para(
                "This loss weighs its samples unequally (class weights or ignored targets, "
                "for instance), so the gradients of the samples alone make up the batch's "
                "neither as their mean nor as their sum; the samples' paths' sums do."
            )
        )
    return blocks
