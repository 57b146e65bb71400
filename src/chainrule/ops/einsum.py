"""Einstein summation: ``einsum("ij,jk->ik", a, b)``, as ``torch.einsum``.

The derivative with respect to one operand is itself an einsum: the upstream gradient (indexed
like the output) contracted with every other operand, written to that operand's indices. An
index that only that operand has (summed away in the forward pass) gets the gradient broadcast
along it, since every entry along it contributed once.
"""

from __future__ import annotations

import string

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor

_LETTERS = set(string.ascii_letters)


class Einsum(Function):
    """Σ over the indices missing from the output of the product of the operands.
    Local derivative for operand k: the product of the other operands (an einsum)."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "einsum"
    formulas = ("the einsum of the upstream gradient with the other operands",)

    def forward(self, *arrays, inputs, output):
        self.arrays, self.inputs, self.output = arrays, inputs, output
        return np.asarray(np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=True))

    def backward(self, grad):
        grads = []
        for k, (spec, array) in enumerate(zip(self.inputs, self.arrays)):
            if not self.needs_grad[k]:
                grads.append(None)
                continue
            others = [(s, a) for j, (s, a) in enumerate(zip(self.inputs, self.arrays)) if j != k]
            elsewhere = self.output + "".join(s for s, _ in others)
            kept = "".join(c for c in spec if c in elsewhere)
            terms = ",".join([self.output, *(s for s, _ in others)])
            g = np.einsum(f"{terms}->{kept}", grad, *(a for _, a in others), optimize=True)
            for axis, c in enumerate(spec):  # indices only this operand had: broadcast back
                if c not in elsewhere:
                    g = np.expand_dims(g, axis)
            grads.append(np.broadcast_to(g, array.shape).astype(array.dtype, copy=False))
        return tuple(grads)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.shape import broadcast_to

        grads = []
        for k, (spec, operand_k) in enumerate(zip(self.inputs, self.parents)):
            others = [(s, t) for j, (s, t) in enumerate(zip(self.inputs, self.parents)) if j != k]
            elsewhere = self.output + "".join(s for s, _ in others)
            kept = "".join(c for c in spec if c in elsewhere)
            terms = [self.output, *(s for s, _ in others)]
            g = Einsum.apply(grad, *(t for _, t in others), inputs=terms, output=kept)
            for axis, c in enumerate(spec):
                if c not in elsewhere:
                    g = g.unsqueeze(axis)
            grads.append(broadcast_to(g, operand_k.shape))
        return tuple(grads)


def _ellipsis_to_letters(equation: str, ndims: list[int]) -> tuple[str, str]:
    """The equation with each ``...`` spelled in letters it does not use, and those letters, as
    PyTorch reads it: an operand's ``...`` covers the dimensions its letters do not name, the
    operands' ``...`` line up from the right (broadcasting), and without ``->`` the output
    starts with them."""
    lhs, arrow, output = equation.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(ndims):
        raise ValueError(f"einsum: {equation!r} names {len(specs)} operands, got {len(ndims)}")
    spare = [c for c in string.ascii_letters if c not in equation]
    counts = []
    for k, (spec, ndim) in enumerate(zip(specs + [output], ndims + [None])):
        if spec.count("...") > 1 or spec.replace("...", "").count("."):
            raise ValueError(f"einsum: {equation!r}: a '.' that is not one '...' in {spec!r}")
        if ndim is not None:
            count = ndim - len(spec.replace("...", "")) if "..." in spec else 0
            if count < 0:
                raise ShapeError(
                    f"einsum: {spec!r} names more dimensions than operand {k} has ({ndim})"
                )
            counts.append(count)
    longest = max(counts)
    if longest > len(spare):
        raise ValueError(f"einsum: {equation!r} uses too many letters to spell its '...'")
    letters = "".join(spare[:longest])
    specs = [s.replace("...", letters[longest - n :]) for s, n in zip(specs, counts)]
    if arrow:
        return f"{','.join(specs)}->{output.replace('...', letters)}", letters
    named = lhs.replace("...", "")  # implicit output: '...', then the letters used once
    once = sorted(c for c in set(named) - {","} if named.count(c) == 1)
    return f"{','.join(specs)}->{letters}{''.join(once)}", letters


def _parse(equation: str, n: int) -> tuple[list[str], str]:
    lhs, arrow, output = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != n:
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {n}")
    for spec in inputs + [output]:
        if not set(spec) <= _LETTERS:
            raise ValueError(f"einsum: {equation!r}: indices must be letters, got {spec!r}")
    if len(set(output)) != len(output):
        raise ValueError(f"einsum: {equation!r}: an index repeats in the output {output!r}")
    if not arrow:  # implicit output: the indices that appear once, in alphabetical order
        counts = {c: lhs.count(c) for c in set(lhs) - {","}}
        output = "".join(sorted(c for c, count in counts.items() if count == 1))
    missing = set(output) - set("".join(inputs))
    if missing:
        raise ValueError(f"einsum: {equation!r}: output indices {sorted(missing)} are in no input")
    return inputs, output


def _diagonals(inputs: list, tensors: list) -> tuple[list, list]:
    """Each operand with an index repeated (``'ii->i'``, ``'bii->b'``) replaced by its
    diagonal over those dimensions, moved last and named once (a differentiable view)."""
    from chainrule.ops.diagonal import diagonal

    specs, diagonals = [], []
    for spec, t in zip(inputs, tensors):
        if len(spec) != t.ndim:
            raise ShapeError(
                f"einsum: {spec!r} names {len(spec)} dimensions, the operand has shape {t.shape}"
            )
        for c in dict.fromkeys(c for c in spec if spec.count(c) > 1):
            while spec.count(c) > 1:
                i = spec.index(c)
                j = spec.index(c, i + 1)
                if t.shape[i] != t.shape[j]:
                    raise ShapeError(
                        f"einsum: index {c!r} repeats in {spec!r} over sizes {t.shape[i]} and "
                        f"{t.shape[j]}; a diagonal needs them equal"
                    )
                t = diagonal(t, 0, i, j)
                spec = spec[:i] + spec[i + 1 : j] + spec[j + 1 :] + c
        specs.append(spec)
        diagonals.append(t)
    return specs, diagonals


def _broadcast(inputs: list, tensors: list, under_ellipsis: str = "") -> list:
    """Each index's size across the operands; a size 1 stretches to the others' size, as in
    PyTorch (``'ij,j->i'`` with shapes (2, 1) and (3,)), through a differentiable expand."""
    from chainrule.ops.shape import expand

    sizes: dict[str, int] = {}
    for spec, t in zip(inputs, tensors):
        if len(spec) != t.ndim:
            raise ShapeError(
                f"einsum: {spec!r} names {len(spec)} dimensions, the operand has shape {t.shape}"
            )
        for c, n in zip(spec, t.shape):
            have = sizes.setdefault(c, n)
            if have == 1:
                sizes[c] = n
            elif n not in (1, have):
                name = "a dimension under '...'" if c in under_ellipsis else f"index {c!r}"
                raise ShapeError(f"einsum: {name} has sizes {have} and {n}")
    out = []
    for spec, t in zip(inputs, tensors):
        target = tuple(sizes[c] for c in spec)
        out.append(t if target == t.shape else expand(t, *target))
    return out


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over letters, as ``torch.einsum`` (also ``einsum(eq, [a, b])``).

    Every operand's dimensions are named by letters; an index in two operands is multiplied
    along, an index missing from the output (after ``->``, or the indices appearing once when
    there is no arrow) is summed over. ``...`` stands for the dimensions an operand's letters
    do not name, broadcast across the operands (``'...ij,...jk->...ik'``), as in PyTorch.
    An index repeated within one operand takes the diagonal (``'ii->i'``, ``'ii'`` the trace).

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0], [4.0]])
        >>> cr.einsum("ij,jk->ik", a, b).tolist()
        [[11.0]]
    """
    if not isinstance(equation, str):  # PyTorch's sublist form: einsum(a, [0, 1], b, [1, 2])
        raise TypeError(
            f"einsum: the first argument is the equation, e.g. einsum('ij,jk->ik', a, b); got "
            f"{type(equation).__name__} (PyTorch's sublist form is not supported)"
        )
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [operand(t) for t in operands]
    equation = equation.replace(" ", "")
    spelled = ""  # the letters that spell '...', for the error messages
    if "." in equation:
        equation, spelled = _ellipsis_to_letters(equation, [t.ndim for t in tensors])
    inputs, output = _parse(equation, len(tensors))
    inputs, tensors = _diagonals(inputs, tensors)
    tensors = _broadcast(inputs, tensors, spelled)
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise DTypeError(  # a RuntimeError, as PyTorch's
            f"einsum: the operands have different dtypes {sorted(map(str, dtypes))}; convert "
            f"them to one, as PyTorch requires"
        )
    summed = len(tensors) == 1 and set(inputs[0]) - set(output)
    if summed and tensors[0].array.dtype.kind in "biu":  # PyTorch sums these in int64, as sum()
        tensors = [Tensor._make(tensors[0].array.astype(np.int64), False)]
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output)
