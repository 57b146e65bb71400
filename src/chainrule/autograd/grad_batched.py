"""``autograd.grad(..., is_grads_batched=True)``: a batch of seeds per output, one gradient each.

PyTorch vectorizes the backward pass over the seeds' first dimension with vmap; here each seed
runs its own pass (the graph kept until the last) and the gradients are stacked along a new
first dimension. The results are the same; the cost is one pass per seed.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError


def batched_grad(grad, outputs, inputs, seeds, keep, create_graph) -> list:
    """Per input: the stacked gradients for each seed of the batch (``None`` where an input is
    unused). ``grad`` is :func:`chainrule.autograd.grad`."""
    from chainrule.ops.shape import stack

    batch = _batch_size(outputs, seeds)
    per_seed = [
        grad(
            outputs,
            inputs,
            [seed[b] for seed in seeds],
            retain_graph=keep or b < batch - 1,
            create_graph=create_graph,
            allow_unused=True,
        )
        for b in range(batch)
    ]
    columns = [[grads[i] for grads in per_seed] for i in range(len(inputs))]
    return [None if column[0] is None else stack(column, 0) for column in columns]


def _batch_size(outputs, seeds) -> int:
    """The seeds' common first dimension; each seed must be a batch of the output's shape."""
    sizes = set()
    for i, (out, seed) in enumerate(zip(outputs, seeds)):
        shape = None if seed is None else tuple(np.shape(getattr(seed, "array", seed)))
        if shape is None or shape[1:] != tuple(out.shape):
            raise ShapeError(
                f"If `is_grads_batched=True`, we interpret the first dimension of each "
                f"grad_output as the batch dimension. The sizes of the remaining dimensions are "
                f"expected to match the shape of corresponding output, but a mismatch was "
                f"detected: grad_output[{i}] has a shape of "
                f"{'None' if shape is None else shape[1:]} and output[{i}] has a shape of "
                f"{tuple(out.shape)}."
            )
        sizes.add(shape[0])
    if len(sizes) != 1 or 0 in sizes:
        raise ShapeError(
            f"is_grads_batched=True: every grad_outputs entry needs the same, non-zero batch "
            f"size (first dimension), got {sorted(sizes)}"
        )
    return sizes.pop()
