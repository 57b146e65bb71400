"""Which call of a layer each op belongs to, so a weight read by several ops is labelled by
call and time step ("call 2, t=3") even when the forward pass runs the layer more than once (a
siamese encoder, an RNN stacked on itself)."""

from __future__ import annotations

import contextlib

from chainrule.explain.datamodel import Use
from chainrule.tensor import Tensor


@contextlib.contextmanager
def module_calls(model):
    """While active, each call of a module of ``model`` that owns parameters records the ops it
    ran: ``{id(module): [set of id(op), one per call, in call order]}``. A call's ops are those
    between its outputs and its inputs; counting the graph's uses of the weight instead would
    number the second call's steps on from the first's."""
    calls: dict[int, list[set]] = {}
    if not hasattr(model, "named_modules"):
        yield calls
        return

    def record(module, args, kwargs, output):
        inputs = {id(t) for t in _tensors((args, kwargs))}
        calls.setdefault(id(module), []).append(_ops_between(output, inputs))

    handles = [
        module.register_forward_hook(record, with_kwargs=True)
        for _, module in model.named_modules()
        if hasattr(module, "register_forward_hook")
        and next(iter(module.parameters(recurse=False)), None) is not None
    ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def _tensors(value) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for part in value for t in _tensors(part)]
    return []


def _ops_between(output, inputs: set) -> set:
    """The ids of the ops that made ``output`` from the call's ``inputs`` (and leaves)."""
    ops: set[int] = set()
    stack = [t for t in _tensors(output) if id(t) not in inputs]
    while stack:
        fn = stack.pop()._ctx
        if fn is None or id(fn) in ops:
            continue
        ops.add(id(fn))
        stack.extend(p for p in fn.parents if id(p) not in inputs)
    return ops


def call_of(readers: list, module_calls: list | None) -> list:
    """Each reader's call number (1-based), or None where the calls were not recorded."""
    found = []
    for fn in readers:
        number = None
        for n, ops in enumerate(module_calls or (), 1):
            if id(fn) in ops:
                number = number or n  # a nested call's ops are also its caller's: the first
        found.append(number)
    return found


def owner(model, t):
    """``(path, module, own parameter name)`` of the module that holds ``t``, or None."""
    named_modules = getattr(model, "named_modules", None)
    for name, module in named_modules() if named_modules is not None else ():
        own = [n for n, p in module.named_parameters(recurse=False) if p is t]
        if own:
            return name, module, own[0]
    return None


def label_uses(model, t, readers: list, uses: list[Use], calls: dict) -> str:
    """Label each use with its call and time step (``use.label``) and say which layer reads
    ``t`` several times and why; "" for a weight no layer of ``model`` holds."""
    from chainrule.nn.recurrent import RNNBase
    from chainrule.nn.recurrent_cells import RNNCellBase

    found = owner(model, t)
    if found is None:
        return ""
    name, module, own = found
    numbers = call_of(readers, calls.get(id(module)))
    called = len(calls.get(id(module), ()))
    several = called > 1 and None not in numbers
    called = called if several else 1
    if several:  # call by call (the graph's order may interleave independent calls)
        order = sorted(range(len(uses)), key=lambda k: numbers[k])
        uses[:] = [uses[k] for k in order]
        numbers = [numbers[k] for k in order]
    who, kind = name or "the model", type(module).__name__
    if isinstance(module, RNNCellBase):
        return f"{who} is a recurrent cell ({kind}), called once per time step"
    if not isinstance(module, RNNBase):
        if not several:
            return ""
        for use, number in zip(uses, numbers):
            use.label = f"call {number}"
        return (
            f"{who} ({kind}) is called {called} times in the forward pass, so "
            f"{', '.join(u.node for u in uses)} are its calls {', '.join(map(str, numbers))}"
        )
    return _time_steps(f"{who} is a recurrent layer ({kind})", own, uses, numbers, called)


def _time_steps(head: str, own: str, uses: list[Use], numbers: list, called: int) -> str:
    """A whole-sequence layer applies its weights once per time step of each call: label each
    use ``t=3`` (``call 2, t=3`` when it was called several times)."""
    several = called > 1
    groups: dict[int, list[Use]] = {}
    for use, number in zip(uses, numbers if several else [1] * len(uses)):
        groups.setdefault(number, []).append(use)
    parts = []
    for number, group in groups.items():
        steps = list(range(1, len(group) + 1))
        if own.endswith("_reverse"):  # the backward direction runs from the last step
            steps.reverse()
        for use, step in zip(group, steps):
            use.label = f"call {number}, t={step}" if several else f"t={step}"
        nodes, listed = ", ".join(u.node for u in group), ", ".join(map(str, steps))
        parts.append(f"{nodes} are call {number}'s time steps {listed}")
    if not several:
        nodes = ", ".join(u.node for u in uses)
        return (
            f"{head}: it applies its weights once per time step, so {nodes} are time steps "
            + listed
        )
    return (
        f"{head}, called {called} times in the forward pass: it applies its weights once per "
        f"time step of each call, so {'; '.join(parts)}"
    )
