"""``chainrule.nn.modules``: PyTorch's ``torch.nn.modules`` import paths, for code that imports
from them (``from torch.nn.modules.loss import _Loss``, ``torch.nn.modules.conv._ConvNd``,
``torch.nn.modules.batchnorm._BatchNorm``, ``torch.nn.modules.utils._pair``). The classes are
``chainrule.nn``'s own: ``nn.modules.linear.Linear is nn.Linear``."""

from chainrule.nn.modules import (
    activation,
    adaptive,
    batchnorm,
    channelshuffle,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
    utils,
)
from chainrule.nn.modules.activation import *  # noqa: F403
from chainrule.nn.modules.adaptive import *  # noqa: F403
from chainrule.nn.modules.batchnorm import *  # noqa: F403
from chainrule.nn.modules.channelshuffle import *  # noqa: F403
from chainrule.nn.modules.container import *  # noqa: F403
from chainrule.nn.modules.conv import *  # noqa: F403
from chainrule.nn.modules.distance import *  # noqa: F403
from chainrule.nn.modules.dropout import *  # noqa: F403
from chainrule.nn.modules.flatten import *  # noqa: F403
from chainrule.nn.modules.fold import *  # noqa: F403
from chainrule.nn.modules.instancenorm import *  # noqa: F403
from chainrule.nn.modules.linear import *  # noqa: F403
from chainrule.nn.modules.loss import *  # noqa: F403
from chainrule.nn.modules.module import *  # noqa: F403
from chainrule.nn.modules.normalization import *  # noqa: F403
from chainrule.nn.modules.padding import *  # noqa: F403
from chainrule.nn.modules.pixelshuffle import *  # noqa: F403
from chainrule.nn.modules.pooling import *  # noqa: F403
from chainrule.nn.modules.rnn import *  # noqa: F403
from chainrule.nn.modules.sparse import *  # noqa: F403
from chainrule.nn.modules.transformer import *  # noqa: F403
from chainrule.nn.modules.upsampling import *  # noqa: F403
