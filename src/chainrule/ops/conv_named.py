"""The last op of ``conv3d`` and ``conv_transpose3d``, under PyTorch's name for a convolution's
grad_fn (``ConvolutionBackward0``).

PyTorch runs a convolution as one node; chainrule builds the 3-D ones from recorded steps
(``ops/conv3d.py``, ``ops/conv_transpose3d.py``) that end in a permute, a reshape or the bias
add. These subclasses do that same work and only carry PyTorch's name
(``autograd/grad_fn_names.py``), so ``grad_fn.name()`` agrees."""

from __future__ import annotations

from chainrule.ops.elementwise import Add
from chainrule.ops.shape import Permute, Reshape


class ConvolutionPermute(Permute):
    """The output planes moved back to (N, C, D, H, W): ``ConvolutionBackward0``."""


class ConvolutionReshape(Reshape):
    """The output laid out as (N, C, D, H, W): ``ConvolutionBackward0``."""


class ConvolutionBias(Add):
    """The bias added to every output position: ``ConvolutionBackward0``."""
