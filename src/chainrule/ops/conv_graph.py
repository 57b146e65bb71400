"""The convolutions' gradients written as convolutions, for second derivatives.

``Conv2d.backward`` and ``ConvTranspose2d.backward`` work on arrays; with
``autograd.grad(..., create_graph=True)`` the engine needs the same gradients as tensors in the
graph (``backward_graph``), so they can be differentiated again. Each is again a convolution:

- a convolution's input gradient is the transposed convolution of ``grad`` with the same
  weight, and a transposed convolution's input gradient is the convolution of ``grad``;
- either one's weight gradient correlates the input with ``grad``: a convolution whose batch
  is the channels, whose kernels are ``grad``'s planes, with stride and dilation swapped;
- the bias gradient is ``grad`` summed over N, OH and OW.

Both kinds of op are chainrule's own recorded ops, so the graph extends to any order.
"""

from __future__ import annotations

from chainrule.tensor import Tensor


def conv2d_graph(op, grad: Tensor) -> tuple:
    """``Conv2d.backward_graph``: its gradients as tensors in the graph."""
    from chainrule.ops.conv import ConvTranspose2d  # conv.py imports this module

    x, weight = op.parents[0], op.parents[1]
    stride, pads, dilation, groups = op.options
    needs = op.needs_grad
    grad_x = grad_w = None
    if needs[0]:
        h, w = x.shape[2:]
        top, bottom, left, right = pads
        # The transposed convolution rebuilds the padded input's gradient, cut by the smaller
        # pad on each side; the rows a stride never reached come back as output_padding.
        padded = (h + top + bottom, w + left + right)
        spare = tuple(map(_unreached, padded, grad.shape[2:], stride, dilation, weight.shape[2:]))
        cut = (min(top, bottom), min(left, right))
        grad_x = ConvTranspose2d.apply(
            grad,
            weight,
            stride=stride,
            padding=cut,
            output_padding=spare,
            dilation=dilation,
            groups=groups,
        )
        if grad_x.shape[2:] != (h, w):  # asymmetric padding ("same" with an even kernel)
            y0, x0 = top - cut[0], left - cut[1]
            grad_x = grad_x[:, :, y0 : y0 + h, x0 : x0 + w]
    if needs[1]:
        grad_w = weight_gradient(x, grad, weight.shape, stride, pads, dilation, groups)
    if len(op.parents) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, grad.sum(axis=(0, 2, 3)) if needs[2] else None


def _unreached(padded: int, out: int, stride: int, dilation: int, kernel: int) -> int:
    """How many rows (or columns) at the end of a padded input no window reached."""
    return padded - ((out - 1) * stride + dilation * (kernel - 1) + 1)


def conv_transpose2d_graph(op, grad: Tensor) -> tuple:
    """``ConvTranspose2d.backward_graph``: its gradients as tensors in the graph."""
    from chainrule.ops.conv import Conv2d

    x, weight = op.parents[0], op.parents[1]
    (ph, pw), groups = op.padding, op.groups
    pads = (ph, ph, pw, pw)
    needs = op.needs_grad
    grad_x = grad_w = None
    if needs[0]:
        h, w = x.shape[2:]
        grad_x = Conv2d.apply(
            grad, weight, stride=op.stride, pads=pads, dilation=op.dilation, groups=groups
        )
        # output_padding of at least the stride (allowed when the dilation is larger) adds
        # windows past the input's last pixel: they are not the input's
        if grad_x.shape[2:] != (h, w):
            grad_x = grad_x[:, :, :h, :w]
    if needs[1]:
        # the transposed convolution is the convolution of ``grad``'s input gradient: the
        # weight pairs x (as that convolution's output gradient) with grad (as its input)
        grad_w = weight_gradient(grad, x, weight.shape, op.stride, pads, op.dilation, groups)
    if len(op.parents) == 2:
        return grad_x, grad_w
    return grad_x, grad_w, grad.sum(axis=(0, 2, 3)) if needs[2] else None


def weight_gradient(x: Tensor, grad: Tensor, weight_shape, stride, pads, dilation, groups):
    """The weight gradient of ``conv2d(x, W)`` (shape ``weight_shape``) for output gradient
    ``grad``, as one recorded convolution:

        ∂L/∂W[o, c, i, j] = Σ_{n,y,x} grad[n, o, y, x] · xpad[n, g(o)·Cg + c, y·s + i·d, x·s + j·d]

    is a convolution of x, read with its channels as the batch and its batch as the channels,
    with grad's planes as kernels (O of them, N channels each, one group per conv group), at
    stride d and dilation s. It can slide past the last kernel row where the stride left input
    rows unused; those rows are cut.
    """
    from chainrule.ops.conv import Conv2d

    n, c, h, w = x.shape
    _, cg, kh, kw = weight_shape
    # (N, C, H, W) → (Cg, g·N, H, W): channel gi·N + n of batch item c' is x[n, gi·Cg + c']
    planes = x.reshape(n, groups, cg, h, w).permute(2, 1, 0, 3, 4).reshape(cg, groups * n, h, w)
    kernels = grad.permute(1, 0, 2, 3)  # (O, N, OH, OW)
    out = Conv2d.apply(
        planes, kernels, stride=dilation, pads=pads, dilation=stride, groups=groups
    )  # (Cg, O, kh', kw'), kh' >= kh
    if out.shape[2:] != (kh, kw):
        out = out[:, :, :kh, :kw]
    return out.permute(1, 0, 2, 3)
