"""Stateless functions: activations, the linear map, losses, convolution and pooling.

``chainrule.functional`` (and ``chainrule.nn.functional``) re-export the op functions of
:mod:`chainrule.ops`: each is the one checked entry of its op, with PyTorch's signature and
semantics and its documentation (Args, Shape, Example) beside the op. Arguments may be tensors
or NumPy arrays.
"""

from chainrule.ops.activation import (
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from chainrule.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from chainrule.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    nll_loss,
)
from chainrule.ops.loss_kl import kl_div
from chainrule.ops.loss_regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss
from chainrule.ops.matmul import linear
from chainrule.ops.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cross_entropy",
    "elu",
    "gelu",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softmax",
    "smooth_l1_loss",
    "softplus",
    "tanh",
]
