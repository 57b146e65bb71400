"""Nested containers of tensors (PyTorch's "pytrees"): tuples, lists and dicts, flattened to
their leaves and built back, for the function transforms (a ``params`` dict as an argument)."""

from __future__ import annotations

from typing import Any


class Spec:
    """How to rebuild a tree from its leaves: the container's type, its keys (dicts) and the
    specs of its children; a leaf's spec has ``kind`` None."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind, keys=None, children=()):
        self.kind, self.keys, self.children = kind, keys, children

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind is None else sum(child.num_leaves for child in self.children)


def flatten(tree: Any) -> tuple[list, Spec]:
    """The leaves of ``tree`` in order (dicts in their own key order) and its :class:`Spec`."""
    if isinstance(tree, (tuple, list)):
        kind = type(tree)
        pairs = [flatten(item) for item in tree]
        return [leaf for leaves, _ in pairs for leaf in leaves], Spec(
            kind, None, tuple(spec for _, spec in pairs)
        )
    if isinstance(tree, dict):
        keys = tuple(tree)
        pairs = [flatten(tree[key]) for key in keys]
        return [leaf for leaves, _ in pairs for leaf in leaves], Spec(
            type(tree), keys, tuple(spec for _, spec in pairs)
        )
    return [tree], Spec(None)


def unflatten(leaves, spec: Spec) -> Any:
    """The tree of ``spec`` with ``leaves`` in its places (the inverse of :func:`flatten`)."""
    it = iter(leaves)
    return _build(it, spec)


def _build(it, spec: Spec):
    if spec.kind is None:
        return next(it)
    items = [_build(it, child) for child in spec.children]
    if spec.keys is not None:
        return spec.kind(zip(spec.keys, items))
    if spec.kind is tuple or spec.kind is list:
        return spec.kind(items)
    if hasattr(spec.kind, "_fields"):  # a namedtuple
        return spec.kind(*items)
    return spec.kind(items)


def broadcast(prefix: Any, tree: Any, what: str) -> list:
    """One value per leaf of ``tree``, from ``prefix``: a value for the whole tree, or a tree of
    the same structure down to some depth (PyTorch's ``in_dims``/``out_dims`` rule)."""
    if not isinstance(prefix, (tuple, list, dict)):
        return [prefix] * flatten(tree)[1].num_leaves
    if isinstance(prefix, dict) != isinstance(tree, dict) or not isinstance(
        tree, (tuple, list, dict)
    ):
        raise ValueError(f"{what} {prefix!r} does not match the structure of the inputs")
    if len(prefix) != len(tree) or (isinstance(tree, dict) and set(prefix) != set(tree)):
        raise ValueError(
            f"{what} {prefix!r} does not match the structure of the inputs: "
            f"{len(prefix)} entries for {len(tree)}"
        )
    keys = tree.keys() if isinstance(tree, dict) else range(len(tree))
    return [value for key in keys for value in broadcast(prefix[key], tree[key], what)]
