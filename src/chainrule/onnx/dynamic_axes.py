"""``export``'s ``dynamic_axes``: which input and output dimensions the ONNX file leaves free
(symbolic names such as ``"sequence"``), given as PyTorch's ``torch.onnx.export`` takes them.

An input axis is made free only after the model has run with that axis one longer: an output
dimension that grows with it gets the same name, one that changes otherwise is left unnamed
(``None``), and a model that cannot run at another length is refused.
"""

from __future__ import annotations

import numpy as np

from chainrule.onnx.errors import ExportError


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_dynamic_axes(dynamic_axes) -> dict:
    """``{name: {axis: dim_name}}`` from PyTorch's forms: ``{name: {axis: dim_name}}`` or
    ``{name: [axis, ...]}`` (named ``<name>_dynamic_axes_<i>`` as PyTorch names them)."""
    if dynamic_axes is None:
        return {}
    if not isinstance(dynamic_axes, dict):
        raise ExportError(
            f"dynamic_axes must be a dict such as {{'input': {{1: 'sequence'}}}}, got "
            f"{type(dynamic_axes).__name__}"
        )
    clean = {}
    for name, axes in dynamic_axes.items():
        if not isinstance(name, str):
            raise ExportError(f"dynamic_axes keys are input or output names, got {name!r}")
        if isinstance(axes, (list, tuple)):
            axes = {axis: f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
            if len(axes) != len(dynamic_axes[name]):
                raise ExportError(f"dynamic_axes[{name!r}] lists an axis twice: {axes!r}")
        if not isinstance(axes, dict):
            raise ExportError(
                f"dynamic_axes[{name!r}] must be a dict {{axis: name}} or a list of axes, got "
                f"{type(axes).__name__}"
            )
        for axis, dim in axes.items():
            if not _is_int(axis) or axis < 0:
                raise ExportError(f"dynamic_axes[{name!r}]: axes are integers >= 0, got {axis!r}")
            if not isinstance(dim, str) or not dim:
                raise ExportError(
                    f"dynamic_axes[{name!r}][{axis}]: the dimension's name must be a non-empty "
                    f"string, got {dim!r}"
                )
        clean[name] = {int(axis): dim for axis, dim in axes.items()}
    return clean


def check_names(axes: dict, input_names: list, output_names: list, shapes: dict) -> None:
    """Every name in ``axes`` is an input or an output, and every axis exists there."""
    for name, named in axes.items():
        if name not in shapes:
            inputs = ", ".join(map(repr, input_names))
            which = "the input" if len(input_names) == 1 else "an input"
            raise ExportError(
                f"dynamic_axes names {name!r}, which is neither {which} ({inputs}) nor "
                f"an output ({', '.join(map(repr, output_names))})"
            )
        for axis in named:
            if axis >= len(shapes[name]):
                raise ExportError(
                    f"dynamic_axes[{name!r}]: axis {axis} does not exist; {name!r} has shape "
                    f"{tuple(shapes[name])} (axes 0 to {len(shapes[name]) - 1})"
                )


def input_dims(x: np.ndarray, batch_axis: int | None, named: dict) -> list:
    """An input's dims: ints, ``"batch"`` on its batch axis (None: fixed), the user's names."""
    dims = list(x.shape)
    if batch_axis is not None and x.ndim:
        dims[batch_axis] = "batch"
    for axis, name in named.items():
        dims[axis] = name
    return dims


def _free_axes(in_dims: list) -> dict:
    """``{dim_name: [(input, axis), ...]}``: the axes that share a name grow together (a
    sequence length named on the input and on its mask)."""
    groups: dict[str, list] = {}
    for i, dims in enumerate(in_dims):
        for axis, name in enumerate(dims):
            if isinstance(name, str):
                groups.setdefault(name, []).append((i, axis))
    return groups


def _longer(xs: list, axes: list) -> list:
    """The inputs with each of ``axes`` one longer (its first entry repeated)."""
    xs = list(xs)
    for i, axis in axes:
        xs[i] = np.concatenate([xs[i], np.take(xs[i], [0], axis=axis)], axis=axis)
    return xs


def output_dims(run, xs: list, outs: list, in_dims: list, named_outputs: list) -> list:
    """Each output's dims: the name of the free input axes it grows with, None where it
    changes with them in another way, its size where it never changes; the user's names win."""
    dims = [list(out.shape) for out in outs]
    for name, axes in _free_axes(in_dims).items():
        longer = _longer(xs, axes)
        try:
            others = run(longer)
        except Exception as err:  # noqa: BLE001 - whatever the model raises, the axis is fixed
            i, axis = axes[0]
            hint = (
                f"with dynamic_batch=True the first dimension must be the batch. For one sample "
                f"give X[:1] (shape {(1, *xs[i].shape)}), or export a fixed shape with "
                f"dynamic_batch=False"
                if axis == 0 and name == "batch" and len(xs) == 1
                else "leave it out of dynamic_axes (or dynamic_batch=False), or name every "
                "input axis that must grow with it by the same name"
            )
            before = ", ".join(str(xs[i].shape) for i, _ in axes)
            after = ", ".join(str(longer[i].shape) for i, _ in axes)
            raise ExportError(
                f"axis {axis} of the input cannot be dynamic ({name!r}): the model runs on "
                f"example_input of shape {before} but not on {after}; {hint} "
                f"({type(err).__name__}: {err})"
            ) from err
        sizes = {xs[i].shape[axis] for i, axis in axes}
        for out_dims, out, other in zip(dims, outs, others, strict=True):
            for k, (a, b) in enumerate(zip(out.shape, other)):
                if a != b and not isinstance(out_dims[k], str):
                    grows = b == a + 1 and a in sizes  # follows it
                    out_dims[k] = name if grows else None
    for out_dims, named in zip(dims, named_outputs):
        for axis, name in named.items():
            out_dims[axis] = name
    return dims


def check_graph_unchanged(build, first: list, xs: list, in_dims: list) -> None:
    """Refuse a free axis (other than the batch) whose length changes the graph: a layer that
    writes the example's size into its nodes (an adaptive pool's window, a fixed Reshape)
    would compute something else at another length. ``first`` is :func:`graph_items` of the
    example's graph, ``build(arrays)`` converts the model again for other inputs."""
    for name, axes in _free_axes(in_dims).items():
        if name == "batch":
            continue
        other = graph_items(build(_longer(xs, axes)))
        if other == first:
            continue
        changed = next(
            (a[0] for a, b in zip(first, other) if a != b),
            (first + other)[min(len(first), len(other))][0],
        )
        layer = changed.rsplit("/", 1)[0] if "/" in changed else changed
        axis = axes[0][1]
        raise ExportError(
            f"axis {axis} of the input cannot be dynamic ({name!r}): the ONNX graph of "
            f"{layer!r} depends on that length (its node {changed!r} holds a size taken from "
            f"example_input), so it would compute something else at another length; leave the "
            f"axis out of dynamic_axes and export one model per size"
        )


def graph_items(graph) -> list:
    """The graph's nodes and initializers, by name and serialized content."""
    return [(n.name, n.SerializeToString()) for n in graph.nodes] + [
        (t.name, t.SerializeToString()) for t in graph.initializers
    ]
