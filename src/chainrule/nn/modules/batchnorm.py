"""``torch.nn.modules.batchnorm``'s path: batch normalization (``chainrule.nn``'s classes)."""

from chainrule.nn import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
)

# PyTorch's base of the batch norms; chainrule's is BatchNorm1d (BatchNorm2d/3d and the lazy
# ones derive from it), so isinstance(m, _BatchNorm) holds for every batch norm, as there
_BatchNorm = BatchNorm1d

__all__ = [
    "BatchNorm1d",
    "LazyBatchNorm1d",
    "BatchNorm2d",
    "LazyBatchNorm2d",
    "BatchNorm3d",
    "LazyBatchNorm3d",
    "_BatchNorm",
]
