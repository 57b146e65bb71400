"""Margin loss modules, as ``torch.nn``'s: each holds its options and calls its function in
``chainrule.nn.functional`` (``ops/loss_margin.py`` and ``ops/loss_multiclass_margin.py``).

Constructors take PyTorch's arguments in PyTorch's positions, the deprecated ``size_average``
and ``reduce`` included; the reduction is checked when the module is made.
"""

from __future__ import annotations

from chainrule.nn.loss import _Loss, _weight_buffer, _weight_like
from chainrule.ops import loss_margin as _margin
from chainrule.ops import loss_multiclass_margin as _multiclass
from chainrule.tensor import Tensor


class MarginRankingLoss(_Loss):
    """max(0, −y·(x1 − x2) + margin) for pairs of scores and y = ±1.

    Args:
        margin: how far apart the ranked scores must be (default 0).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input1, input2 and target (N,) or 0-d; output scalar, or (N,) for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.MarginRankingLoss(margin=0.5)
        >>> loss(cr.tensor([1.0]), cr.tensor([2.0]), cr.tensor([1.0])).item()
        1.5
    """

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return _margin.margin_ranking_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin − x) where y = −1 (x usually a distance).

    Args:
        margin: default 1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input (*), target broadcasting against it; output scalar, or (*) for ``"none"``.
    """

    def __init__(
        self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return _margin.hinge_embedding_loss(
            input, target, margin=self.margin, reduction=self.reduction
        )


class SoftMarginLoss(_Loss):
    """ln(1 + e^(−y·x)): the two-class logistic loss for targets y = ±1.

    Shape: input (*), target broadcasting to it; output scalar, or (*) for ``"none"``.
    """

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return _margin.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) for y = 1, max(0, cos(x1, x2) − margin) for y = −1.

    Args:
        margin: in [−1, 1], default 0.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input1 and input2 (N, D) with target (N,), or (D,) with a 0-d target.
    """

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return _margin.cosine_embedding_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) − d(a, n) + margin) with d the p-norm distance.

    Args:
        margin: > 0 (default 1); p: the norm's order (default 2); eps: added to differences;
        swap: use min(d(a, n), d(p, n)); reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: anchor, positive, negative (N, D) or (D,); output scalar, or (N,) for ``"none"``.
    """

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        if not margin > 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return _margin.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class TripletMarginWithDistanceLoss(_Loss):
    """The triplet margin loss with any distance function (default ``nn.PairwiseDistance()``,
    which then shows in the module's repr, as in PyTorch).

    Args (keyword only): distance_function, margin (> 0), swap, reduction.
    """

    def __init__(
        self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
        reduction: str = "mean",
    ):  # fmt: skip
        super().__init__(reduction=reduction)
        if not margin > 0:
            raise ValueError(
                f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        if distance_function is None:
            from chainrule.nn.distance import PairwiseDistance

            distance_function = PairwiseDistance()
        self.distance_function = distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return _margin.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


class MultiMarginLoss(_Loss):
    """The multi-class hinge loss: Σ_{i≠y} max(0, margin − x[y] + x[i])^p / C per sample.

    Args:
        p: 1 or 2; margin: default 1; weight: (C,) per-class weights;
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input (N, C) or (C,), target (N,) int64 class indices; output scalar, or (N,).
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight=None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p!r}")
        weight = _weight_buffer(weight, "MultiMarginLoss", "weight")
        if weight is not None and weight.ndim != 1:
            raise ValueError(
                f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.ndim}D "
                f"instead"
            )
        self.register_buffer("weight", weight)
        self.p, self.margin = p, margin

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        weight = self.weight
        if weight is not None and isinstance(input, Tensor):
            weight = _weight_like(weight, input)
        return _multiclass.multi_margin_loss(
            input, target, p=self.p, margin=self.margin, weight=weight, reduction=self.reduction
        )


class MultiLabelMarginLoss(_Loss):
    """The multi-label hinge loss, for int64 targets listing each row's classes, padded with −1.

    Shape: input (N, C) or (C,), target int64 of the same shape; output scalar, or (N,).
    """

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return _multiclass.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """−mean over classes of [y·ln σ(x) + (1 − y)·ln σ(−x)], one loss per sample.

    Args:
        weight: (C,) per-class weights; reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape: input (N, C) or (C,), target (0/1 labels) of the same shape; output scalar or (N,).
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight_buffer(weight, "MultiLabelSoftMarginLoss", "weight"))

    def forward(self, input, target):  # noqa: A002 - PyTorch's name
        return _multiclass.multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )
