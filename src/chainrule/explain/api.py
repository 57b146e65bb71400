"""The public entry points: ``explain``, ``explain_graph`` and ``trace``. Each builds an
:class:`~chainrule.explain.context.ExplainContext`, runs the numbers layer to get the data model,
runs the section writers on it, and returns a :class:`~chainrule.explain.report.Report`."""

from __future__ import annotations

import dataclasses
import functools

from chainrule.explain import numbers, sections
from chainrule.explain.chain import Naming, op_formula
from chainrule.explain.context import MAX_LISTED_PATHS, ExplainContext
from chainrule.explain.graph import Graph
from chainrule.explain.losses import constants, describe, mean_count, plain
from chainrule.explain.numbers import twin
from chainrule.explain.numbers.calls import module_calls
from chainrule.explain.numbers.inner_names import inner_names
from chainrule.explain.numbers.running_stats import running_stat_names
from chainrule.explain.prediction import PredictedScore
from chainrule.explain.report import Report
from chainrule.tensor import Tensor


def trace(loss: Tensor, names: dict | None = None) -> Report:
    """Every node of the graph below ``loss`` as a table: op, shape, value, gradient, local
    derivative (and where the engine summed a broadcast gradient).

    Runs ``loss.backward(retain_graph=True)`` to get every node's gradient, then puts the leaves'
    ``.grad`` back as they were, so call it before (or instead of) your own ``backward()``.

    Args:
        loss: a tensor with a recorded graph (usually the scalar loss).
        names: optional {tensor: name} for the table; ``tensor.name`` is used otherwise.

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor(2.0, requires_grad=True)
        >>> report = cr.trace((a * a + a).sum())
        >>> report.data["nodes"][-1]["op"]
        'Σ'
    """
    graph = Graph(loss)
    param_names = {id(t): n for t, n in (names or {}).items()}
    naming = Naming(graph, None, param_names, None, None)
    naming.base[id(graph.root)] = loss.name or "out"
    model, grads = numbers.compute_trace(graph, loss, naming)
    blocks = sections.write_trace(model, naming.tensor(graph.root))
    return Report(
        "trace",
        blocks,
        model.to_dict(),
        graph=(graph, naming, grads),
        names=naming,
        explanation=model,
    )


def explain(
    model,
    x,
    y=None,
    loss_fn=None,
    lr: float | None = None,
    param=None,
    names: str | None = None,
    update_order: str = "simultaneous",
    title: str | None = None,
    decimals: int = 9,
    max_paths: int = MAX_LISTED_PATHS,
    class_names=None,
    optimizer=None,
) -> Report:
    """Explain backpropagation on ``model`` for one sample (or a small batch), with numbers.

    The report has five sections: the forward pass neuron by neuron, the backward pass in delta
    form layer by layer, the chain rule for the chosen parameter(s) factor by factor (summed over
    paths), the update ``w_new = w_old − lr·∂E/∂w`` (or your ``optimizer``'s step) with the loss
    after the step, and the recorded graph. Every number comes from the engine, in float64 on a
    deep copy (the model is not touched); each local factor is the op's own ``backward`` of a
    one-hot gradient; the update is one step of ``SGD`` (or a copy of ``optimizer``).

    Args:
        model: an ``nn.Module`` (or any callable with ``named_parameters()``).
        x: input, ``(features,)`` for one sample or ``(batch, features)``; for a network that
            starts with a convolution, one image ``(C, H, W)`` (3-D: ``(C, D, H, W)``) or a batch.
        y: target, as ``loss_fn`` expects it (or ``(batch,)`` for one output, as in fit).
            Without ``y`` and ``loss_fn``, E is the prediction (:class:`PredictedScore`): the
            predicted class's logit ``o[argmax(o)]``, or a one-output model's output.
        loss_fn: ``loss_fn(output, target)`` returning a one-element tensor.
        lr: learning rate of the plain gradient-descent step shown in section 4 (0.1 when
            neither it nor ``optimizer`` is given).
        param: the parameter element(s) to spell out, e.g. ``"0.weight[1, 0]"`` (or ``"w5"``
            with ``names="classic"``), or a list of them; default: one weight per layer.
        names: ``"classic"`` for textbook names (w1…, b1, net_h1, out_o1); one sample only.
        update_order: ``"simultaneous"`` (every gradient from one backward pass, as optimizers
            do) or ``"sequential"`` (layers updated from the output back, each hidden layer's
            gradient recomputed with the already-updated weights above it).
        title: the report's title.
        decimals: decimal places printed (more for tiny values).
        max_paths: the most paths listed for one parameter. A parameter with more paths to the
            loss gets the ``max_paths`` with the largest |product|; the others are counted and
            summed (without listing them) into one remainder, so the total is still exact.
        class_names: the classes' names, index by index (``chainrule train`` saves them in the
            model's metadata): the report names the target's class and the outputs beside
            its indices.
        optimizer: your ``chainrule.optim`` optimizer (built over ``model.parameters()``):
            section 4 then shows its step (Adam, momentum, weight decay), taken by a copy of it
            with its hyperparameters and state on a float64 copy of the model, and its update
            rule; the optimizer itself is not stepped. Not with ``lr`` or a sequential update.

    Returns:
        Report: ``str(report)``, ``.markdown()``, ``.html()``, ``.json()``, ``.terminal()``,
        ``.dot()``; ``report.data`` holds every number (``report.explanation`` as dataclasses).

    Example:
        >>> from chainrule.explain import examples
        >>> print(examples.mazur(param="w5"))  # doctest: +SKIP
    """
    loss_fn = _prediction_or(loss_fn, y, class_names)
    runs = [0]  # the copy's forward passes, for the note on the model's forward hooks
    ctx = ExplainContext(
        **_step_settings(lr, optimizer, model),
        param=param,
        names="default" if names is None else names,
        update_order=update_order,
        title=title or "Backpropagation, explained",
        decimals=decimals,
        max_paths=max_paths,
        rerun=functools.partial(twin.run, loss_fn=loss_fn, count=runs),
        fresh_model=functools.partial(twin.double_copy, model),
        class_names=None if class_names is None else tuple(str(c) for c in class_names),
        decide=None if class_names is None else _decider(loss_fn, len(class_names)),
    )
    scene = _scene(model, x, y, loss_fn, ctx.classic, runs)
    return _report(
        scene, _loss_words(ctx, loss_fn, scene), late_notes=lambda: twin.hook_notes(model, runs[0])
    )


def _prediction_or(loss_fn, y, class_names):
    """``loss_fn``, or with neither a target nor a loss the prediction's score."""
    if loss_fn is None and y is None:
        return PredictedScore(class_names)
    if loss_fn is None or not callable(loss_fn):
        raise TypeError(
            f"explain() got a target y but loss_fn={loss_fn!r}; give a loss (nn.MSELoss(), "
            f"nn.CrossEntropyLoss(), ...), or leave out both y and loss_fn to explain the "
            f"prediction"
        )
    return loss_fn


def _scene(model, x, y, loss_fn, classic: bool, runs: list) -> numbers.Scene:
    """The float64 copy of ``model`` run forward on ``x`` and ``y`` (one more in ``runs``), its
    graph recorded and every layer's output named."""
    copy = twin.double_copy(model)
    x_t, y_t = twin.prepare(x, y, model, loss_fn)
    with (
        twin.module_outputs(copy) as outputs,
        module_calls(copy) as calls,
        running_stat_names(copy) as (stats, stat_notes),
        inner_names(copy) as inner,
    ):
        out, loss = twin.run(copy, x_t, y_t, loss_fn, count=runs)
    for key, name in {**inner, **stats}.items():  # a layer's output keeps its name, "1.out"
        outputs.setdefault(key, name)
    y_t = twin.matched_target(out, y_t)  # the target the loss was given
    named = twin.named_parameters(copy)
    scene = numbers.Scene(
        loss, out, x_t, y_t, named, classic=classic, model=copy, outputs=outputs, calls=calls
    )
    scene.notes = twin.mode_notes(model) + stat_notes
    return scene


def _step_settings(lr, optimizer, model) -> dict:
    """The update's settings: plain SGD with ``lr`` (0.1 by default), or the user's optimizer."""
    if optimizer is None:
        return {"lr": 0.1 if lr is None else lr}
    if lr is not None:
        raise ValueError(
            "give explain() lr= or optimizer=, not both: with optimizer= the step uses the "
            "optimizer's own learning rate"
        )
    from chainrule.explain.numbers import optimizer as twin_optimizer

    make = twin_optimizer.twin_factory(optimizer, model)  # checks it first
    return {
        "lr": optimizer.param_groups[0]["lr"],
        "optimizer": make,
        "optimizer_name": twin_optimizer.describe(optimizer),
        "optimizer_rule": tuple(twin_optimizer.rule(optimizer)),
    }


def _loss_words(ctx: ExplainContext, loss_fn, scene) -> ExplainContext:
    """The loss's words for this call: a weighted, smoothed or ignore_index loss takes its op's
    own formula (weights included), and a mean names its n ("2·(o − t)/n, n = 6")."""
    # after the run: a prediction's words name its k
    formula, derivative = describe(loss_fn, scene.y, scene.out.array.shape)
    ctx = dataclasses.replace(ctx, loss_formula=formula, loss_derivative=derivative)
    if isinstance(loss_fn, PredictedScore):  # no loss: the report opens by saying what E is
        scene.notes.insert(0, loss_fn.note())
    if not plain(loss_fn, scene.y):
        ctx = dataclasses.replace(ctx, loss_formula=None, loss_derivative=None)
    count = mean_count(loss_fn, scene.out.array.shape, scene.y)
    if count and ctx.loss_derivative:
        ctx = dataclasses.replace(ctx, loss_derivative=f"{ctx.loss_derivative}, {count}")
    if count and ctx.loss_formula:  # its 1/n too: the count is never left to guess
        ctx = dataclasses.replace(ctx, loss_formula=f"{ctx.loss_formula}, {count}")
    named = constants(loss_fn)  # "δ = 0.5": after the count, with the loss's formula too
    if named and ctx.loss_derivative:
        ctx = dataclasses.replace(ctx, loss_derivative=f"{ctx.loss_derivative}, {named}")
    if named and ctx.loss_formula:
        ctx = dataclasses.replace(ctx, loss_formula=f"{ctx.loss_formula}, {named}")
    own = _loss_op_formula(scene) if ctx.loss_derivative is None else None
    if own:
        ctx = dataclasses.replace(ctx, loss_derivative=own)
    return ctx


def _loss_op_formula(scene) -> str | None:
    """∂E/∂output from the loss op's own formula, when the loss is one op on the output."""
    ops = scene.loss_ops
    if not ops or len(ops) != 1 or not ops[0].parents or ops[0].parents[0] is not scene.out:
        return None
    formula = op_formula(ops[0], 0)
    return None if formula == "?" else formula


def _decider(loss_fn, classes: int):
    """The predicted class of each sample from the model's output: the largest of one output
    per class, or for two classes one logit (BCEWithLogitsLoss) or probability (BCELoss)."""
    import numpy as np

    from chainrule import nn

    threshold = {nn.BCEWithLogitsLoss: 0.0, nn.BCELoss: 0.5}.get(type(loss_fn))

    def decide(out):
        out = np.asarray(out)
        out = out.reshape(len(out), -1) if out.ndim else out.reshape(1, 1)
        if out.shape[1] == classes > 1:
            return out.argmax(axis=1).tolist()
        if out.shape[1] == 1 and classes == 2 and threshold is not None:
            return (out[:, 0] > threshold).astype(int).tolist()
        return None

    return decide


def explain_graph(
    loss: Tensor,
    params: dict,
    lr: float = 0.1,
    param=None,
    title: str | None = None,
    decimals: int = 9,
    recompute=None,
    max_paths: int = MAX_LISTED_PATHS,
) -> Report:
    """Explain an arbitrary scalar expression op by op (no layers needed).

    Args:
        loss: the scalar result, its graph recorded (float64 recommended).
        params: {name: leaf tensor} — the leaves to explain and update.
        lr: step size of the update section (one ``chainrule.optim.SGD`` step on copies).
        param: which leaf element(s) to spell out (default: every leaf).
        recompute: optional ``f({name: np.ndarray}) -> float`` that evaluates the expression at
            new leaf values, for the loss after the update.
        max_paths: the most paths listed for one leaf element (see :func:`explain`).
    """
    ctx = ExplainContext(
        lr=lr,
        param=param,
        title=title or "Backpropagation through an expression",
        decimals=decimals,
        max_paths=max_paths,
        recompute=recompute,
    )
    scene = numbers.Scene(loss, None, None, None, list(params.items()))
    return _report(scene, ctx)


def _report(scene, ctx: ExplainContext, late_notes=None) -> Report:
    model = numbers.compute(scene, ctx)
    if late_notes is not None:  # notes that count what computing the numbers did
        model.notes += late_notes()
    blocks = sections.write(model, scene, ctx)
    return Report(
        ctx.title,
        blocks,
        model.to_dict(),
        graph=(scene.graph, scene.naming, None),
        names=scene.naming,
        explanation=model,
    )
