"""The values inside ``nn.MultiheadAttention``, found by the shape of its ops: the query, key
and value (the three slices of the packed input projection), the scale 1/√d, the scores
Q·Kᵀ/√d and the attention weights softmax(scores)."""

from __future__ import annotations


def attention_parts(values: list) -> list:
    """(tensor, name) pairs for the values of one attention call (its own ops' outputs); the
    ones that are not there (separate projections, no softmax) are left unnamed."""
    parts = []
    weights = [t for t in values if t._ctx.label == "softmax"]
    if len(weights) == 1:
        parts.append((weights[0], "attn_weights"))
        scores = weights[0]._ctx.parents[0]
        if scores._ctx is not None and scores._ctx.label in ("@", "+"):
            parts.append((scores, "scores"))
    for t in values:
        fn = t._ctx
        if fn.label == "×" and len(fn.parents) == 2:
            scale = fn.parents[1]
            if scale._ctx is None and scale.array.size == 1:
                parts.append((scale, "scale"))
    parts += _query_key_value(values)
    return parts


def _query_key_value(values: list) -> list:
    """The packed projection ``qkv`` and its three slices ``[..., 0:E]``, ``[..., E:2E]``,
    ``[..., 2E:3E]``, in that order q, k, v; [] where the projection is not packed."""
    slices = {}
    for t in values:
        fn = t._ctx
        index = getattr(fn, "index", None) if fn.label == "index" else None
        last = index[-1] if isinstance(index, tuple) and index else None
        if isinstance(last, slice) and fn.parents[0]._ctx is not None:
            slices.setdefault(id(fn.parents[0]), []).append((last.start or 0, t))
    for found in slices.values():
        if len(found) == 3:
            found.sort(key=lambda pair: pair[0])
            packed = found[0][1]._ctx.parents[0]
            return [(packed, "qkv")] + [(t, name) for (_, t), name in zip(found, ("q", "k", "v"))]
    return []
