"""``chainrule.utils``: PyTorch's ``torch.utils`` path (``chainrule.utils.data``)."""

from chainrule.utils import data

__all__ = ["data"]
