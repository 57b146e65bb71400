"""The last op of ``conv3d`` and ``conv_transpose3d``, under PyTorch's name for a convolution's
grad_fn (``ConvolutionBackward0``).

PyTorch runs a convolution as one node; chainrule's 3-D ops (``ops/conv3d.py``,
``ops/conv_transpose3d.py``) give their output channels first, as their product lays it out,
and a permute views it as NCDHW. That permute does a permute's work and only carries
PyTorch's name (``autograd/grad_fn_names.py``), so ``grad_fn.name()`` agrees."""

from __future__ import annotations

from chainrule.ops.shape import Permute


class ConvolutionPermute(Permute):
    """The output moved from (C, N, D, H, W) to (N, C, D, H, W): ``ConvolutionBackward0``."""
