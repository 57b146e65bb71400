"""``torch.nn.modules.channelshuffle``'s path: ChannelShuffle (``chainrule.nn``'s classes)."""

from chainrule.nn import ChannelShuffle

__all__ = [
    "ChannelShuffle",
]
