"""Every op, one family a file. Each op class holds its forward, its local derivative and the
derivative's formula side by side; the functions below are what users and Tensor methods call."""

from chainrule.ops.activation import relu, sigmoid, tanh
from chainrule.ops.elementwise import (
    abs,
    add,
    cast,
    clamp,
    clip,
    clone,
    compare,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    sqrt,
    sub,
    where,
)
from chainrule.ops.getitem import getitem
from chainrule.ops.math import reflected_div as rdiv  # number / tensor (Tensor.__rtruediv__)
from chainrule.ops.math import reflected_pow as rpow  # number ** tensor (Tensor.__rpow__)
from chainrule.ops.math import reflected_sub as rsub  # number - tensor (Tensor.__rsub__)
from chainrule.ops.math import scaled  # add/sub's alpha=
from chainrule.ops.matmul import linear, matmul
from chainrule.ops.power import pow
from chainrule.ops.reduce import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from chainrule.ops.rounded_division import floor_divide, fmod, remainder
from chainrule.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
    view,
)
from chainrule.ops.shape_extra import chunk, split

# ---- activation and loss families beyond the core (see ops/activation.py, ops/loss.py) ----
# isort: split
from chainrule.ops.activation import (
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu6,
    silu,
    softmax,
    softplus,
)
from chainrule.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
