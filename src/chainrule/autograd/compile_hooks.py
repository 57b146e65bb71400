"""Hooks through which layers tell ``cr.compile`` about work done outside ops.

A compiled step replays the ops it recorded. Two kinds of work happen beside the ops and must
happen again on every call: arrays drawn fresh each call (dropout masks) and updates of state
that is not a parameter (BatchNorm's running statistics). A layer routes such work through
:func:`per_call` and :func:`after_forward`; run eagerly, both just do the work. A third kind
needs no repeating: an index array computed from sizes alone (:func:`fixed`), the same on
every call with the same shapes.
"""

from __future__ import annotations

# The active recorder (at most one, cr.compile's), or None: eager code pays one test.
_RECORDER: list = [None]


def per_call(make, *args):
    """``make(*args)``, an array made anew on each call (a random mask, say).

    Under ``cr.compile``'s recorder the array becomes an input of the compiled step that
    ``make(*args)`` refills before each call, instead of a constant frozen at the first call.
    ``args`` must not change from call to call (generators, shapes, probabilities, dtypes).
    """
    recorder = _RECORDER[0]
    if recorder is not None:
        return recorder.per_call(make, args)
    return make(*args)


def after_forward(effect, *args) -> None:
    """Run ``effect(*arrays)``, where each tensor in ``args`` is passed as its array.

    For state updates that read the forward pass's values (running statistics): a compiled
    step repeats ``effect`` on every call with that call's values.
    """
    recorder = _RECORDER[0]
    if recorder is not None:
        recorder.after_forward(effect, args)
        return
    effect(*[getattr(a, "array", a) for a in args])


def fixed(make, *args):
    """``make(*args)``, an array that depends on ``args`` (sizes, strides) and nothing else,
    such as the index of the input planes each output plane of a 3-D convolution reads.

    Under ``cr.compile``'s recorder the array may be an op's option (inside an index tuple
    too): a compiled plan is recorded per input shape, so it stays right on every call and the
    plan keeps it (made read-only) instead of refusing an array made in forward. Never pass
    anything computed from tensor values here: that is what ``cr.compile`` must refuse.
    """
    out = make(*args)
    recorder = _RECORDER[0]
    if recorder is not None:
        recorder.fixed(out)
    return out
