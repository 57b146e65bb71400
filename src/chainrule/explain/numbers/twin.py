"""The float64 twin of a model: a deep copy the explanation runs, so the model is not touched."""

from __future__ import annotations

import contextlib
import copy

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.errors import GraphError, ShapeError
from chainrule.nn.recurrent_cells import op_by_op
from chainrule.tensor import Tensor


def named_parameters(model) -> list:
    if hasattr(model, "named_parameters"):
        return [(str(n), p) for n, p in model.named_parameters()]
    if hasattr(model, "parameters"):
        return [(str(i), p) for i, p in enumerate(model.parameters())]
    raise TypeError(
        f"explain() needs a model with named_parameters() (an nn.Module, or any callable object "
        f"that lists its parameter tensors), got {type(model).__name__}"
    )


def double_copy(model):
    """A float64 deep copy of ``model`` in eval mode, without gradients."""
    twin = copy.deepcopy(model)
    if hasattr(twin, "double") and callable(twin.double):
        twin.double()
    for _, p in named_parameters(twin):
        if p.array.dtype.kind == "f" and p.array.dtype != np.float64:
            p.array = p.array.astype(np.float64)
    for _, p in named_parameters(twin):
        p.grad_array = None
    _drop_backward_hooks(twin)
    if hasattr(twin, "eval") and callable(twin.eval):
        twin.eval()  # dropout off, batch norm on its running statistics: the same numbers twice
    return twin


def mode_notes(model) -> list[str]:
    """What the report must say because the copy runs in eval mode: with dropout or batch
    norm, a training step computes other numbers than the ones explained."""
    modules = list(model.modules()) if hasattr(model, "modules") else []
    # only layers whose eval mode computes something else: p = 0 and batch norm without
    # running statistics give the training numbers in both modes
    dropout = sorted(
        {type(m).__name__ for m in modules if "Dropout" in type(m).__name__ and getattr(m, "p", 1)}
    )
    norm = sorted(
        {
            type(m).__name__
            for m in modules
            if type(m).__name__.startswith("BatchNorm") and getattr(m, "track_running_stats", True)
        }
    )
    if not dropout and not norm:
        return []
    what = []
    if dropout:
        what.append(f"{' and '.join(dropout)} {'is' if len(dropout) == 1 else 'are'} off")
    if norm:
        what.append(f"{' and '.join(norm)} uses its running mean and variance")
    uses = (["a random dropout mask"] if dropout else []) + (
        ["the batch's own mean and variance"] if norm else []
    )
    return [
        f"Computed in evaluation mode, as the model predicts: {' and '.join(what)}. A training "
        f"step (model.train()) gets other gradients, since it uses {' and '.join(uses)}."
    ]


def hook_notes(model, runs: int) -> list[str]:
    """What the report must say about ``model``'s module hooks. Forward hooks and pre-hooks
    stay on the copy (a hook may change a layer's output, and the model is explained as
    called), so they ran in each of the explanation's ``runs`` forward passes, on the copy;
    backward hooks were left off it (see ``_drop_backward_hooks``), so a hook that changes a
    gradient in training changed none here."""
    forward, backward = (
        _hooked(model, ("pre", "post")),
        _hooked(model, ("backward_pre", "backward")),
    )
    notes = []
    if forward:
        times = "once" if runs == 1 else f"{runs} times"
        notes.append(
            f"The model's forward hooks ({forward}) ran {times} during this explanation, on "
            f"its float64 copy of the model (the module a hook receives is the copy): a hook "
            f"may change what a layer returns, so the model is explained as called, hooks "
            f"included. explain runs the copy for the pass explained, then again for the loss "
            f"after the step and, where the report shows them, for each sample of a batch "
            f"alone and a sequential update."
        )
    if backward:
        notes.append(
            f"The model's backward hooks ({backward}) did not run: the gradients below are the "
            f"chain rule of the ops alone, so where such a hook changes a gradient in training, "
            f"the .grad of training differs from these numbers."
        )
    return notes


def _hooked(model, kinds: tuple) -> str:
    """Where ``model`` has hooks of ``kinds`` ("on 1, on 3"), or "" where it has none."""
    if not hasattr(model, "named_modules"):
        return ""
    places = []
    for path, module in model.named_modules():
        hooks = module.__dict__.get("_module_hooks")
        if hooks is not None and any(getattr(hooks, kind) for kind in kinds):
            places.append(f"on {path}" if path else "on the model itself")
    more = f" and {len(places) - 4} more" if len(places) > 4 else ""
    return ", ".join(places[:4]) + more


def _drop_backward_hooks(twin) -> None:
    """Remove the copy's module backward hooks: they wrap each hooked call in identity ops
    (``BackwardHookFunction``, local derivative 1) that would read as activations, and the
    explanation's one-hot backward passes would fire the user's hooks. The model keeps them."""
    for module in twin.modules() if hasattr(twin, "modules") else ():
        hooks = module.__dict__.get("_module_hooks")
        if hooks is not None:
            hooks.backward_pre.clear()
            hooks.backward.clear()


def _as_input(value) -> Tensor:
    data = value.array if isinstance(value, Tensor) else np.asarray(value)
    if data.dtype.kind in "fc" or data.dtype.kind == "O":
        data = np.asarray(data, dtype=np.float64)
    elif data.dtype.kind == "b":
        data = data.astype(np.float64)
    return Tensor._make(np.array(data), False)


# Layers whose input has a fixed number of axes, and how many one sample has: an image
# (C, H, W) given to a network that starts with one of these is one sample, not a batch.
_SAMPLE_AXES = {
    "Conv2d": 3, "ConvTranspose2d": 3, "MaxPool2d": 3, "AvgPool2d": 3, "AdaptiveAvgPool2d": 3,
    "BatchNorm2d": 3, "Dropout2d": 3, "InstanceNorm2d": 3, "UpsamplingNearest2d": 3,
    "UpsamplingBilinear2d": 3, "Conv1d": 2, "ConvTranspose1d": 2, "MaxPool1d": 2,
    "AvgPool1d": 2, "AdaptiveAvgPool1d": 2, "InstanceNorm1d": 2, "Conv3d": 4,
    "ConvTranspose3d": 4, "MaxPool3d": 4, "AvgPool3d": 4, "InstanceNorm3d": 4, "BatchNorm3d": 4,
    **{f"{kind}Pad{n}d": n + 1 for kind in ("Zero", "Constant", "Reflection", "Replication",
                                            "Circular") for n in (1, 2, 3)},
}  # fmt: skip


def _sample_axes(model) -> int:
    """The axes of one sample for ``model``'s first layer (1: a feature vector)."""
    modules = model.modules() if hasattr(model, "modules") else ()
    for module in modules:
        if not list(module.children()):  # the first leaf: the layer that reads the input
            return _SAMPLE_AXES.get(type(module).__name__, 1)
    return 1


def _one_class_index(y: Tensor, loss_fn) -> bool:
    """``y[:1]`` of class labels for a loss that reads class indices: already the batch of one
    sample that the loss expects, (1,), which another axis would turn into (1, 1)."""
    reads_indices = getattr(loss_fn, "targets", None) == "classes" or getattr(
        loss_fn, "__name__", None
    ) in ("cross_entropy", "nll_loss")
    return reads_indices and y.array.shape == (1,) and y.array.dtype.kind in "iu"


def prepare(x, y, model=None, loss_fn=None) -> tuple:
    """Input and target as float64 tensors (integer class labels stay integer), batched."""
    try:
        x_t = _as_input(x)
    except ValueError:  # NumPy's "inhomogeneous shape": arrays of several shapes
        if isinstance(x, (tuple, list)):
            raise ValueError(
                f"explain() takes the model's input as one array, got a {type(x).__name__} of "
                f"{len(x)} arrays of different shapes; a model of several inputs (Bilinear, "
                f"Transformer) is explained through a Module whose forward takes one array "
                f"and splits it"
            ) from None
        raise
    y_t = _as_input(y) if y is not None else None
    # one sample given without its batch axis: a feature vector, or an image for a CNN
    if x_t.array.ndim == 1 or (model is not None and x_t.array.ndim == _sample_axes(model)):
        x_t = Tensor._make(x_t.array[None, ...], False)
        if y_t is not None and not _one_class_index(y_t, loss_fn):
            y_t = Tensor._make(np.asarray(y_t.array)[None, ...], False)
    _check_numbers(x_t, "x")
    if y_t is not None:
        _check_numbers(y_t, "y")
    return x_t, y_t


def _check_numbers(t: Tensor, what: str) -> None:
    """An empty batch or a NaN/inf would give a report of NaNs (or an IndexError): say so."""
    data = t.array
    if data.ndim and data.shape[0] == 0:
        raise ValueError(
            f"explain() got an empty batch: {what} has shape {data.shape}; give at least one "
            f"sample"
        )
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        at = tuple(int(i) for i in np.argwhere(~np.isfinite(data))[0])
        raise ValueError(
            f"explain() got {what} with a non-finite number ({data[at]}) at {what}"
            f"{list(at)}: every number after it would be NaN; clean the data or explain "
            f"another row"
        )


@contextlib.contextmanager
def module_outputs(model):
    """While active, each submodule call of ``model`` records id(output) -> ``"PATH.out"``
    (``"3.out"``, ``"block.0.out"``): a graph explained op by op then names the tensors
    between layers after their layer instead of by node number. The innermost module that
    returns a tensor names it; a module called twice names its first output only. A module
    that returns its input unchanged (Dropout in eval mode, Identity) names nothing: the tensor
    is the output of the op before it (``F.relu`` in a custom forward), named as that op's."""
    names: dict[int, str] = {}
    if not hasattr(model, "named_modules"):
        yield names
        return
    taken = {n for n, _ in named_parameters(model)}
    seen: set = set()

    def record(path):
        def hook(module, args, output):
            name = f"{path}.out"
            passed_through = any(output is arg for arg in args)
            fresh = id(output) not in names and path not in seen and not passed_through
            if isinstance(output, Tensor) and fresh:
                if name not in taken:
                    names[id(output)] = name
                seen.add(path)

        return hook

    handles = [
        module.register_forward_hook(record(path))
        for path, module in model.named_modules()
        if path and hasattr(module, "register_forward_hook")
    ]
    try:
        yield names
    finally:
        for handle in handles:
            handle.remove()


def matched_target(out, y):
    """``(N,)`` targets as ``(N, 1)`` for a model with one output, as ``cr.fit`` takes them
    (``explain(model, X[:1], y[:1], ...)`` with the ``y`` that trained it)."""
    if not isinstance(out, Tensor) or not isinstance(y, Tensor):
        return y
    shape, target = out.array.shape, y.array.shape
    if out.array.ndim == len(target) + 1 and shape[-1] == 1 and shape[:-1] == target:
        return Tensor._make(y.array.reshape(*target, 1), False)
    return y


def run(model, x, y, loss_fn, count=None) -> tuple:
    """The forward pass and the loss, with the graph recorded: ``(output, loss)``; adds 1 to
    ``count[0]`` when given (how many times the model's forward hooks ran)."""
    if count is not None:
        count[0] += 1
    # op_by_op: a recurrent layer's gates each their own op, so each is a factor (not one op
    # for the whole layer, as training runs it)
    with enable_grad(), op_by_op():
        out = model(x)
        loss = loss_fn(out, matched_target(out, y))
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        raise ShapeError(
            f"explain() needs loss_fn(output, target) to return a one-element tensor, got "
            f"{getattr(loss, 'shape', type(loss).__name__)}; use reduction='mean' or 'sum'"
        )
    if loss._ctx is None:
        raise GraphError(
            "the loss does not depend on any parameter that requires grad; nothing to explain"
        )
    return out, loss
