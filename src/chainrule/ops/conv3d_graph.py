"""The 3-D convolutions' gradients written as convolutions, for second derivatives (the 3-D
form of ``ops/conv_graph.py``; see there for the reasoning).

``Conv3d`` and ``ConvTranspose3d`` work on arrays and give channels-first outputs
(C, N, D, H, W); with ``autograd.grad(..., create_graph=True)`` the engine needs their
gradients as tensors in the graph (``backward_graph``). Each is again a recorded 3-D
convolution:

- a convolution's input gradient is the transposed convolution of ``grad`` with the same
  weight, and a transposed convolution's input gradient is the convolution of ``grad``;
- either one's weight gradient correlates the input with ``grad``: a convolution whose batch
  is the channels, whose kernels are ``grad``'s volumes, with stride and dilation swapped;
- the bias gradient is ``grad`` summed over N, OD, OH and OW.
"""

from __future__ import annotations

from chainrule.tensor import Tensor


def conv3d_graph(op, grad: Tensor) -> tuple:
    """``Conv3d.backward_graph``: its gradients as tensors in the graph (``grad`` is
    channels first, as the op's output)."""
    from chainrule.ops.conv_transpose3d import apply_conv_transpose3d

    x, weight = op.parents[0], op.parents[1]
    stride, pads, dilation, groups = op.options
    needs = op.needs_grad
    grad_nc = grad.permute(1, 0, 2, 3, 4)
    grad_x = grad_w = None
    if needs[0]:
        sizes = x.shape[2:]
        # The transposed convolution rebuilds the padded input's gradient, cut by the smaller
        # pad on each side; the planes a stride never reached come back as output_padding.
        cut = tuple(min(pads[2 * i], pads[2 * i + 1]) for i in range(3))
        spare = tuple(
            size + pads[2 * i] + pads[2 * i + 1]
            - ((out - 1) * stride[i] + dilation[i] * (k - 1) + 1)
            for i, (size, out, k) in enumerate(zip(sizes, grad_nc.shape[2:], weight.shape[2:]))
        )  # fmt: skip
        grad_x = apply_conv_transpose3d(grad_nc, weight, None, stride, cut, spare, dilation, groups)
        if grad_x.shape[2:] != sizes:  # asymmetric padding ("same" with an even kernel)
            z, y, x0 = (pads[2 * i] - cut[i] for i in range(3))
            d, h, w = sizes
            grad_x = grad_x[:, :, z : z + d, y : y + h, x0 : x0 + w]
    if needs[1]:
        grad_w = weight_gradient3d(x, grad_nc, weight.shape, stride, pads, dilation, groups)
    if len(op.parents) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, grad.sum(axis=(1, 2, 3, 4)) if needs[2] else None


def conv_transpose3d_graph(op, grad: Tensor) -> tuple:
    """``ConvTranspose3d.backward_graph``: its gradients as tensors in the graph."""
    from chainrule.ops.conv3d import apply_conv3d

    x, weight = op.parents[0], op.parents[1]
    pads = tuple(p for p in op.padding for _ in range(2))
    needs = op.needs_grad
    grad_nc = grad.permute(1, 0, 2, 3, 4)
    grad_x = grad_w = None
    if needs[0]:
        d, h, w = x.shape[2:]
        grad_x = apply_conv3d(grad_nc, weight, None, op.stride, pads, op.dilation, op.groups)
        # output_padding of at least the stride (allowed when the dilation is larger) adds
        # windows past the input's last voxel: they are not the input's
        if grad_x.shape[2:] != (d, h, w):
            grad_x = grad_x[:, :, :d, :h, :w]
    if needs[1]:
        # the transposed convolution is the input gradient of a convolution of ``grad``: the
        # weight pairs x (as that convolution's output gradient) with grad (as its input)
        grad_w = weight_gradient3d(
            grad_nc, x, weight.shape, op.stride, pads, op.dilation, op.groups
        )
    if len(op.parents) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, grad.sum(axis=(1, 2, 3, 4)) if needs[2] else None


def weight_gradient3d(x: Tensor, grad: Tensor, weight_shape, stride, pads, dilation, groups):
    """The weight gradient of ``conv3d(x, W)`` (shape ``weight_shape``) for the NCDHW output
    gradient ``grad``, as one recorded convolution of x read with its channels as the batch and
    its batch as the channels, with grad's volumes as kernels, at stride d and dilation s. It
    can slide past the last kernel tap where the stride left input planes unused; those are
    cut."""
    from chainrule.ops.conv3d import apply_conv3d

    n, c, d, h, w = x.shape
    _, cg, kd, kh, kw = weight_shape
    # (N, C, D, H, W) → (Cg, g·N, D, H, W): channel gi·N + n of item c' is x[n, gi·Cg + c']
    volumes = x.reshape(n, groups, cg, d, h, w).permute(2, 1, 0, 3, 4, 5)
    volumes = volumes.reshape(cg, groups * n, d, h, w)
    kernels = grad.permute(1, 0, 2, 3, 4)  # (O, N, OD, OH, OW)
    out = apply_conv3d(volumes, kernels, None, dilation, pads, stride, groups)
    if out.shape[2:] != (kd, kh, kw):  # (Cg, O, kd', kh', kw'), each >= the kernel's
        out = out[:, :, :kd, :kh, :kw]
    return out.permute(1, 0, 2, 3, 4)
