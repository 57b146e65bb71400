"""Explain a finding with the chain rule, with the real numbers of one training sample.

A vanishing gradient is a product of many small local derivatives; :func:`cr.explain`
(``chainrule.explain``) finds, among all the paths from an early weight to the loss, the one
with the largest product and lists its factors, each computed by the op's own backward. This
module writes that path as one line and points at the activation factors (σ'(z) ≤ 0.25 each).

A dead ReLU is a zero factor: every path from the weights into a dead unit passes through
relu'(z) = 0. ``cr.explain`` lists no path for such a weight (it leaves out paths through a 0),
so the zero factor itself is computed here with the ReLU op's own ``forward``/``backward``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["attach_explanations", "dead_relu_chain", "vanishing_chain"]

# The activation derivatives, as the ops write their formulas.
ACTIVATION_FORMULAS = {
    "σ(z)·(1 − σ(z))": "σ'(z) ≤ 0.25",
    "1 − tanh(z)²": "tanh'(z) ≤ 1",
    "1 if z > 0 else 0": "relu'(z) ∈ {0, 1}",
}
_INDEX_LOSSES = ("CrossEntropyLoss", "NLLLoss", "cross_entropy", "nll_loss")
# cr.explain writes out a whole report; on a 784-256-128-10 network that takes seconds, so
# larger models are not explained at the end of training (cr.explain can still be called).
EXPLAIN_MAX_PARAMETERS = 1_000_000


def _g(v) -> str:
    v = float(v)
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def sample_of(run, loss_fn):
    """The first recorded training sample ``(x, y)`` as the model and the loss take it."""
    if run.x is None or run.y is None or len(run.x) == 0 or len(run.y) == 0:
        return None
    shape = tuple(run.rec.get("x_row_shape") or run.x.shape[1:])
    x = run.x[:1].reshape(1, *shape)
    y = run.y[:1]
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    if name in _INDEX_LOSSES:
        y = y.reshape(-1).astype(np.int64)
    return x, y


def vanishing_chain(model, x, y, loss_fn, weight: str) -> dict:
    """The largest path from ``weight[0, 0]`` to the loss: its factors, product and the total."""
    from chainrule.explain import explain

    param = _first_element(model, weight)
    report = explain(model, x, y, loss_fn, param=param, max_paths=1)
    chain = report.data["chains"][0]
    if not chain["paths"]:
        return {
            "param": param,
            "factors": [],
            "product": 0.0,
            "path_count": chain["path_count"],
            "total": chain["total"],
            "engine_grad": chain["engine_grad"],
        }
    path = chain["paths"][0]
    return {
        "param": param,
        "factors": [
            {"symbol": f["symbol"], "formula": f["formula"], "value": f["value"]}
            for f in path["factors"]
        ],
        "product": path["product"],
        "path_count": chain["path_count"],
        "total": chain["total"],
        "engine_grad": chain["engine_grad"],
    }


def vanishing_text(chain: dict) -> str:
    factors = chain["factors"]
    if not factors:
        return (
            f"By the chain rule (one training sample): every path from {chain['param']} to "
            f"the loss crosses a local derivative of 0, so its gradient is 0."
        )
    symbols = " · ".join(f["symbol"] for f in factors)
    values = " × ".join(_g(f["value"]) for f in factors)
    acts = [f for f in factors if f["formula"] in ACTIVATION_FORMULAS]
    lines = [
        f"Why, by the chain rule (one training sample; of the {chain['path_count']:,} paths from "
        f"{chain['param']} to the loss, the one with the largest product):",
        f"  {symbols}",
        f"  = {values}",
        f"  = {_g(chain['product'])}",
    ]
    if acts:
        product = math.prod(f["value"] for f in acts)
        kinds = sorted({ACTIVATION_FORMULAS[f["formula"]] for f in acts})
        low = min(abs(f["value"]) for f in acts)
        high = max(abs(f["value"]) for f in acts)
        lines.append(
            f"  {len(acts)} of the {len(factors)} factors are activation derivatives "
            f"({', '.join(kinds)}; here {_g(low)} to {_g(high)}): together they multiply the "
            f"gradient by {_g(product)}."
        )
    engine = chain.get("engine_grad")
    lines.append(
        f"  Summed over all the paths, ∂E/∂{chain['param']} = {_g(chain['total'])}"
        + (f" (the engine's gradient: {_g(engine)})." if engine is not None else ".")
    )
    return "\n".join(lines)


def _first_element(model, weight: str, first: int = 0) -> str:
    """``weight[first, 0, ...]`` with one index per axis (a conv kernel has four)."""
    ndim = len(np.shape(np.asarray(dict(model.named_parameters())[weight])))
    return f"{weight}[{', '.join([str(first)] + ['0'] * (ndim - 1))}]"


def _weighted_modules(model) -> list:
    """(name, module) of the modules with a weight matrix or conv kernel of their own."""
    found = []
    for name, module in model.named_modules():
        weight = dict(module.named_parameters(recurse=False)).get("weight")
        if weight is not None and len(np.shape(np.asarray(weight))) >= 2:
            found.append((name, module))
    return found


def dead_relu_chain(model, x, y, loss_fn, layer: str) -> dict | None:
    """The zero factor of a dead unit of ReLU layer ``layer`` on the sample ``x``."""
    from chainrule.autograd.grad_mode import no_grad
    from chainrule.explain import explain
    from chainrule.ops.activation import ReLU as ReLUOp
    from chainrule.tensor import Tensor

    relu = model.get_submodule(layer)
    seen, ran = {}, []  # ran: the weighted modules in the order the forward pass called them
    forward = relu.forward
    original = relu.__dict__.get("forward")

    def watched(z, *args, **kwargs):
        seen["z"] = np.array(np.asarray(z), dtype=np.float64)
        seen["calls"] = seen.get("calls", 0) + 1
        seen["before"] = ran[-1] if ran else None  # the weight whose output z is
        return forward(z, *args, **kwargs)

    object.__setattr__(relu, "forward", watched)
    handles = [
        module.register_forward_hook(lambda m, args, out, name=name: ran.append(name))
        for name, module in _weighted_modules(model)
    ]
    was_training = getattr(model, "training", True)
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.asarray(x, dtype=np.float64).astype(_dtype_of(model))))
    finally:
        for handle in handles:
            handle.remove()
        if original is None:
            relu.__dict__.pop("forward", None)
        else:
            object.__setattr__(relu, "forward", original)
        model.train(was_training)
    if "z" not in seen or seen["before"] is None:
        return None
    # the module the forward pass ran last before the ReLU, not the last one defined before it
    weight = f"{seen['before']}.weight" if seen["before"] else "weight"
    if seen["calls"] > 1:
        # the weight before the module in the model's order feeds its first call only
        raise ValueError(
            f"layer {layer} is called {seen['calls']} times in one forward pass (one module "
            f"at several places), so its units cannot be tied to the weights before one call; "
            f"give each place its own module, or call cr.explain for a weight yourself"
        )
    z = seen["z"][0]
    channel = z.ndim >= 2  # after a convolution: a kernel reaches the loss through every pixel
    if channel:
        # a unit is one channel: dead when relu'(z) = 0 at each of its positions
        tops = z.reshape(len(z), -1).max(axis=1)
        j = int(np.argmin(tops))
        if tops[j] > 0:
            return None  # no channel is dead on this sample: its weights still get gradient
        z = tops
    z = z.reshape(-1)
    if not channel:
        j = int(np.argmin(z))
    op = ReLUOp()
    op.forward(z)
    onehot = np.zeros_like(z)
    onehot[j] = 1.0
    factor = float(op.backward(onehot)[0][j])
    param = _first_element(model, weight, j)
    report = explain(model, x, y, loss_fn, param=param, max_paths=1)
    chain = report.data["chains"][0]
    return {
        "param": param,
        "layer": layer,
        "unit": j,
        "channel": channel,
        "z": float(z[j]),
        "formula": ReLUOp.formulas[0],
        "factor": factor,
        "nonzero_paths": len(chain["paths"]),
        "total": chain["total"],
        "engine_grad": chain["engine_grad"],
    }


def _dtype_of(model):
    for p in model.parameters():
        return np.asarray(p).dtype
    return np.float32


def dead_relu_text(chain: dict) -> str:
    j, layer = chain["unit"], chain["layer"]
    engine = chain.get("engine_grad")
    if chain.get("channel"):  # a conv channel: the same zero factor at each of its pixels
        where = f"channel {j} of layer {layer} at every position, whose local derivative is"
        at = f"at every position (the largest z of channel {j} is {_g(chain['z'])})"
    else:
        where = f"unit {j} of layer {layer}, whose local derivative is"
        at = f"at z[{j}] = {_g(chain['z'])}"
    return "\n".join(
        [
            f"Why, by the chain rule (one training sample): every path from {chain['param']} "
            f"to the loss passes through {where}",
            f"  ∂a[{j}]/∂z[{j}] = relu'(z) = {chain['formula']} = {_g(chain['factor'])}   {at}",
            f"  so ∂E/∂{chain['param']} = ∂E/∂a[{j}] × {_g(chain['factor'])} × "
            f"∂z[{j}]/∂{chain['param']} = 0: cr.explain finds {chain['nonzero_paths']} path(s) "
            f"with a nonzero product"
            + (f", and the engine's gradient is {_g(engine)}." if engine is not None else "."),
        ]
    )


def attach_explanations(findings: list, run, model, loss_fn) -> None:
    """Add the chain-rule explanation to vanishing-gradient and dead-ReLU findings (in place).

    The explanation is best effort: a model ``cr.explain`` cannot read (or a sample that does
    not fit it) leaves ``explanation`` at ``None`` and says why in ``evidence``.
    """
    wanted = [f for f in findings if f.code in ("VANISHING_GRADIENTS", "DEAD_RELU")]
    if not wanted:
        return
    size = sum(int(np.asarray(p).size) for p in model.parameters())
    if size > EXPLAIN_MAX_PARAMETERS:
        for finding in wanted:
            finding.evidence["explain_skipped"] = (
                f"{size:,} parameters (more than {EXPLAIN_MAX_PARAMETERS:,}); call cr.explain "
                f"yourself for one weight"
            )
        return
    sample = sample_of(run, loss_fn)
    if sample is None:
        return
    x, y = sample
    for finding in wanted:
        try:
            if finding.code == "VANISHING_GRADIENTS":
                chain = vanishing_chain(model, x, y, loss_fn, finding.evidence["first"])
                finding.chain, finding.explanation = chain, vanishing_text(chain)
            else:
                chain = dead_relu_chain(model, x, y, loss_fn, finding.evidence["layer"])
                if chain is not None:
                    finding.chain, finding.explanation = chain, dead_relu_text(chain)
        except Exception as err:  # noqa: BLE001 - the finding stands without its explanation
            finding.evidence["explain_error"] = f"{type(err).__name__}: {err}"
