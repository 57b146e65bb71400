"""Numbers of section 3: for each chosen parameter element, its paths to the loss factor by
factor (all of them, or the largest with the rest counted and summed), the total, the engine's
``.grad`` and, for a batch, each sample's share beside the gradient of that sample alone."""

from __future__ import annotations

import copy
import math

import numpy as np

from chainrule.errors import GraphError
from chainrule.explain.chain import sample_of, step_factor
from chainrule.explain.context import MAX_PER_SAMPLE
from chainrule.explain.datamodel import Chain, Factor, Path, PerSample, Use
from chainrule.explain.numbers.backward import check
from chainrule.explain.numbers.calls import label_uses
from chainrule.explain.numbers.twin import named_parameters
from chainrule.tensor import Tensor


def chains(scene, ctx, checks: list) -> list[Chain]:
    chosen = scene.chosen(ctx.param)
    per_sample = _per_sample_grads(scene, ctx) if scene.layers and scene.batch > 1 else None
    result = []
    for t, i in chosen:
        name = scene.naming.elem(t, i)
        if not t.requires_grad:
            result.append(Chain(name, frozen=True))
            continue
        chain = _chain(scene, ctx, t, i, name, per_sample)
        result.append(chain)
        if chain.engine_grad is not None:
            check(checks, f"∂E/∂{name} (sum over paths)", chain.total, chain.engine_grad)
    return result


def _chain(scene, ctx, t, i: int, name: str, per_sample) -> Chain:
    graph = scene.graph
    stop = scene.out if scene.loss_ops is not None else None
    end_weight = None if stop is None else scene.loss_sums[id(stop)].reshape(-1)
    try:
        table = graph.path_table(t, i, stop=stop, end_weight=end_weight)
        if table.count <= ctx.max_paths:
            paths = graph.paths(t, i, stop=stop, limit=ctx.max_paths)
        else:  # too many to list: the largest ones, the rest counted and summed
            paths = table.best(ctx.max_paths)
    except GraphError as err:
        return Chain(name, error=str(err))
    batched = scene.batch > 1
    explained = []
    for steps in paths:
        factors = [_factor(scene, s) for s in reversed(_merge(scene, steps))]
        if stop is not None:
            j = steps[-1][3] if steps else i
            d_stop = float(scene.loss_sums[id(stop)].flat[j])
            derivative = ctx.loss_derivative or "(loss graph)"
            factors.insert(0, Factor("E", scene.naming.elem(stop, j), derivative, d_stop))
        sample = sample_of(graph.output_of[steps[0][0]], steps[0][3], batched)
        explained.append(Path(sample, factors, math.prod(f.value for f in factors)))
    listed = sum(p.product for p in explained)
    complete = len(explained) == table.count
    total = listed if complete else table.total
    grad = t.grad_array
    chain = Chain(
        name,
        explained,
        path_count=table.count,
        paths_not_listed=table.count - len(explained),
        rest_total=total - listed,
        total=total,
        engine_grad=None if grad is None else float(grad.flat[i]),
    )
    readers, chain.uses = _uses(graph, scene.naming, t, table)
    if chain.uses is not None:
        chain.used_by = label_uses(scene.model, t, readers, chain.uses, scene.calls)
    if per_sample is not None:
        if complete:
            contrib = [(p.product, p.sample) for p in explained]
        else:  # per sample from the table: each first step's factor × the sum beyond it
            contrib = [
                (factor * below, sample_of(graph.output_of[fn], j, batched))
                for fn, _, j, factor, _, below in table.first
            ]
        chain.per_sample = _per_sample(scene, t, i, contrib, per_sample)
    return chain


def _uses(graph, naming, t, table) -> tuple[list, list[Use] | None]:
    """For a parameter that several ops read (a recurrent weight at every time step), the share
    of the gradient through each, in forward order: the sum of the paths starting with that op
    (0 for a use whose every path crosses a local derivative of 0, e.g. the zero initial state)."""
    readers = list(dict.fromkeys(fn for fn, _ in graph.consumers.get(id(t), ())))
    if len(readers) < 2:
        return readers, None
    shares = {id(fn): [0.0, 0] for fn in readers}
    for fn, _, _, factor, count, below in table.first:
        shares[id(fn)][0] += factor * below
        shares[id(fn)][1] += count
    order = {id(fn): n for n, fn in enumerate(graph.ops)}
    readers.sort(key=lambda fn: order[id(fn)])
    return readers, [Use(naming.tensor(graph.output_of[fn]), *shares[id(fn)]) for fn in readers]


def _factor(scene, step) -> Factor:
    f = step_factor(scene.naming, scene.graph, step)
    return Factor(f.top, f.bottom, f.formula, f.value, f.note)


class _MergedStep(tuple):
    """A linear step and the bias add after it, as one step (op, k, i, j, factor)."""

    def __new__(cls, fn, outer, k, i, j, value):
        step = super().__new__(cls, (fn, k, i, j, value))
        step.outer = outer
        return step


def _merge(scene, steps) -> list:
    """Fold the step through a separately added bias (factor 1) into the linear step, so
    ∂z/∂w reads as one factor, as in the textbooks."""
    inner = {id(layer.op): layer for layer in scene.layers or () if layer.bias_op is not None}
    merged, n = [], 0
    while n < len(steps):
        fn, k, i, j, v = steps[n]
        if id(fn) in inner and n + 1 < len(steps) and steps[n + 1][0] is inner[id(fn)].bias_op:
            add = steps[n + 1]
            merged.append(_MergedStep(fn, add[0], k, i, add[3], v * add[4]))
            n += 2
            continue
        merged.append(steps[n])
        n += 1
    return merged


def _per_sample_grads(scene, ctx) -> list | None:
    """Per sample of the batch: id(parameter) -> the engine's gradient of that sample alone."""
    if ctx.rerun is None or scene.batch > MAX_PER_SAMPLE:
        return None
    result = []
    twin = copy.deepcopy(scene.model)  # the explained graph keeps its own gradients
    theirs = dict(named_parameters(twin))
    x, y = scene.x, scene.y
    for b in range(scene.batch):
        for q in theirs.values():
            q.grad_array = None
        xb = Tensor._make(x.array[b : b + 1], False)
        yb = None if y is None else Tensor._make(y.array[b : b + 1], False)
        _, loss_b = ctx.rerun(twin, xb, yb)
        loss_b.backward()
        grads = {}
        for n, p in scene.named:
            g = theirs[n].grad_array
            grads[id(p)] = None if g is None else g.copy()
        result.append(grads)
    return result


def _per_sample(scene, t, i: int, terms: list, per_sample: list) -> PerSample:
    """``terms``: (value, sample) pairs that add up to the parameter's gradient."""
    contrib = [0.0] * scene.batch
    for p, s in terms:
        contrib[s] += p
    engine_b = [None if g.get(id(t)) is None else float(g[id(t)].flat[i]) for g in per_sample]
    valid = [e for e in engine_b if e is not None]
    mean = float(np.mean(valid)) if valid else None
    total = sum(contrib)
    if mean is None:
        return PerSample(contrib, engine_b, None, None)
    tol = 1e-9 * max(1.0, abs(total))
    if abs(mean - total) <= tol:
        return PerSample(contrib, engine_b, "mean", mean)
    summed = float(np.sum(valid))
    if abs(summed - total) <= tol:
        return PerSample(contrib, engine_b, "sum", summed)
    # a loss that weighs its samples unequally (class weights, ignored targets): the samples'
    # own gradients combine into the batch's neither as a mean nor as a sum
    return PerSample(contrib, engine_b, None, None)
