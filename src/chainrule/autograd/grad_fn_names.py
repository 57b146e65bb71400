"""PyTorch's names for grad_fn nodes (``y.grad_fn.name()``), where they differ from chainrule's
op class plus ``Backward0``.

chainrule's op classes keep their own names (``type(y.grad_fn).__name__`` is ``"MatMul"``, and
the explainer prints each op's ``label``); ``name()`` and the tensor's repr give PyTorch's
spelling. Some names depend on how the op was called (``sum()`` against ``sum(dim)``, a matrix
product's ranks, which index): those are read from the op while its inputs are still linked,
and kept (:func:`keep_name`) once the op has been handed to the user (``grad_fn``,
``next_functions``, ``name()``), so backward() freeing the op does not change it. Nothing is
kept for ops nobody looked at: the engine's hot loop pays nothing for this.
"""

from __future__ import annotations

import weakref

# op → its call-dependent name, for ops the user has seen; dies with the op
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Same op, another name.
_RENAMED = {
    "ReLU": "ReluBackward0",
    "CosineSimilarity": "SumBackward1",  # PyTorch's ends in a sum over the dim
    "LeakyReLU": "LeakyReluBackward0",
    "GELU": "GeluBackward0",
    "SiLU": "SiluBackward0",
    "ELU": "EluBackward0",
    "ReLU6": "HardtanhBackward0",  # PyTorch's relu6 is hardtanh(x, 0, 6)
    "Concatenate": "CatBackward0",
    "Reshape": "ViewBackward0",
    "Cast": "ToCopyBackward0",
    "CumSum": "CumsumBackward0",
    "Log1p": "Log1PBackward0",
    "AMax": "AmaxBackward0",
    "AMin": "AminBackward0",
    "LogSumExp": "LogsumexpBackward0",
    "Pad": "ConstantPadNdBackward0",
    "Clip": "ClampBackward1",
    "ClampBounds": "ClampBackward0",
    "ClampMinTensor": "ClampMinBackward1",
    "ClampMaxTensor": "ClampMaxBackward1",
    "RSubTensor": "RsubBackward0",
    "Norm2": "LinalgVectorNormBackward0",
    "StdRoot": "StdBackward0",
    "PowScalar": "PowBackward0",
    "Pow": "PowBackward1",
    "Max": "MaxBackward1",
    "Min": "MinBackward1",
    "MSE": "MseLossBackward0",
    "CrossEntropy": "NllLossBackward0",
    "NLL": "NllLossBackward0",
    "Huber": "HuberLossBackward0",
    "CumProd": "CumprodBackward0",
    "FMax": "FmaxBackward0",
    "FMin": "FminBackward0",
    "MedianAll": "MedianBackward0",
    "GELUTanh": "GeluBackward0",
    "Norm1": "LinalgVectorNormBackward0",
    "NormInf": "LinalgVectorNormBackward0",
    "Conv2d": "ConvolutionBackward0",
    "ConvTranspose2d": "ConvolutionBackward0",
    "ConvolutionPermute": "ConvolutionBackward0",  # conv3d's last step (ops/conv_named.py)
    "ConvolutionReshape": "ConvolutionBackward0",
    "ConvolutionBias": "ConvolutionBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "AvgPool2d": "AvgPool2DBackward0",
    # call forms PyTorch names apart, each a subclass of the op that does the work
    "SqueezeDim": "SqueezeBackward1",
    "SqueezeDims": "SqueezeBackward2",
    "MaxDim": "MaxBackward0",
    "MinDim": "MinBackward0",
    "MedianDim": "MedianBackward1",
    "ModeDim": "ModeBackward0",
    "RSub": "RsubBackward1",
    "RPow": "PowBackward2",
    "RDiv": "MulBackward0",
    "Scale": "MulBackward0",
    "SumDim": "SumBackward1",
    "MeanDim": "MeanBackward1",
    "VarMeanMean": "VarMeanBackward0",
    "VarNoDof": "VarBackward0",  # n − correction ≤ 0 (ops/variance_no_dof.py)
    "VarMeanNoDof": "VarMeanBackward0",
    "StdMeanMean": "StdMeanBackward0",
    "LerpScalar": "LerpBackward0",
    "Lerp": "LerpBackward1",
    "SmoothL1": "SmoothL1LossBackward0",
    "DiagCopy": "DiagonalBackward0_copy",
    "RoundedDivide": "DivBackward2",
    "RoundDecimals": "RoundBackward1",
    "Remainder": "RemainderBackward1",
    "RemainderByNumber": "RemainderBackward0",
    "Fmod": "FmodBackward1",
    # linalg: PyTorch's one node per function (the call forms named apart: ops/linalg/_named.py)
    "Inv": "LinalgInvExBackward0",
    "Det": "LinalgDetBackward0",
    "LogAbsDet": "LinalgSlogdetBackward0",
    "SlogdetSign": "LinalgSlogdetBackward0",
    "Solve": "LinalgSolveExBackward0",
    "SolveVectorOutput": "LinalgSolveExBackward0",
    "SolveTransposedOutput": "LinalgSolveExBackward0",
    "SolveTriangular": "LinalgSolveTriangularBackward0",
    "SolveTriangularTransposedOutput": "LinalgSolveTriangularBackward0",
    "Cholesky": "LinalgCholeskyExBackward0",
    "TorchCholesky": "CholeskyBackward0",
    "LinalgQrOutput": "LinalgQrBackward0",
    "LinalgEighOutput": "LinalgEighBackward0",
    "Eigvalsh": "LinalgEighBackward0",
    "LinalgSvdOutput": "LinalgSvdBackward0",
    "SVDVals": "LinalgSvdBackward0",
    "MatrixExp": "LinalgMatrixExpBackward0",
    "NormP": "LinalgVectorNormBackward0",
    "LinalgPinvProduct": "LinalgPinvBackward0",
    "LinalgLstsqProduct": "LinalgLstsqBackward0",
    "LinalgLstsqVectorOutput": "LinalgLstsqBackward0",
    "LinalgCrossStack": "LinalgCrossBackward0",
    "TensorinvOutput": "ReshapeAliasBackward0",
    # activations PyTorch builds from smaller ops, or names after its kernel
    "PReLU": "PreluKernelBackward0",
    "Softsign": "DivBackward0",
    "Tanhshrink": "SubBackward0",
    "GluProduct": "GluBackward0",
    "FmodByNumber": "FmodBackward0",
    # a recurrent cell's one-op step (ops/recurrent_cells.py): PyTorch's last op of the cell
    "LSTMHiddenPart": "MulBackward0",
    "LSTMCellStatePart": "AddBackward0",
    "GRUCellStep": "AddBackward0",
    # in-place writes that replace the values (ops/overwrite.py)
    "ZeroFill": "ZeroBackward0",
    "NumberFill": "FillBackward2",
    "TensorFill": "FillBackward3",
    "NormalFill": "NormalBackward0",
    "UniformFill": "UniformBackward0",
    "CopyFrom": "torch::autograd::CopyBackwards",
    "CopySlices": "torch::autograd::CopySlices",
    # a view written through (autograd/inplace_views.py)
    "ViewOfWrite": "AsStridedBackward0",
    "ReshapeOfWrite": "AsStridedBackward0",
    "PermuteOfWrite": "AsStridedBackward0",
    # recorded without a derivative (backward raises, as PyTorch's)
    "FloorDivide": "torch::autograd::NotImplemented",
    "RemainderOfNumber": "torch::autograd::NotImplemented",
}


def _reduction(fn, stem: str) -> str:
    return f"{stem}Backward0" if getattr(fn, "axes", None) is None else f"{stem}Backward1"


def _ranks(fn) -> tuple:
    return tuple(parent.array.ndim for parent in fn.parents)


def _matmul(fn) -> str:
    ranks = _ranks(fn)
    names = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4"}
    if ranks == (2, 2) or not ranks:  # (released: its inputs are no longer known)
        return "MmBackward0"
    if ranks in names:
        return names[ranks]
    return "UnsafeViewBackward0" if ranks[0] > 2 else "CloneBackward0"


def _linear(fn) -> str:
    ranks = _ranks(fn)
    bias = len(ranks) == 3
    if not ranks or ranks[0] == 2:
        return "AddmmBackward0" if bias or not ranks else "MmBackward0"
    if ranks[0] == 1:
        return "ViewBackward0" if bias else "SqueezeBackward4"
    return "ViewBackward0" if bias else "UnsafeViewBackward0"


def _getitem(fn) -> str:
    if getattr(fn, "advanced", False):
        return "IndexBackward0"
    index = getattr(fn, "index", ())
    for item in reversed(index if isinstance(index, tuple) else (index,)):
        if item is None:
            return "UnsqueezeBackward0"
        if isinstance(item, slice):
            if item != slice(None):
                return "SliceBackward0"
        elif item is not Ellipsis:
            return "SelectBackward0"
    return "AliasBackward0"


def _triangle(fn) -> str:
    import numpy as np

    return "TriuBackward0" if getattr(fn, "keep", None) is np.triu else "TrilBackward0"


def _by_reduction(fn, none: str) -> str:
    """A loss that PyTorch builds from smaller ops: its last one, which the reduction decides."""
    reduction = getattr(fn, "reduction", "mean")
    names = {"mean": "MeanBackward0", "sum": "SumBackward0", "batchmean": "DivBackward0"}
    return names.get(reduction, none)


def _einsum(fn) -> str:
    """The last op of PyTorch's einsum: one operand is permuted, then summed if an index goes;
    several are multiplied, and contracted through bmm and a view if any index is summed."""
    inputs, output = getattr(fn, "inputs", ("",)), getattr(fn, "output", "")
    summed = set("".join(inputs)) - set(output)
    if len(inputs) == 1:
        return "SumBackward1" if summed else "PermuteBackward0"
    return "ViewBackward0" if summed else "MulBackward0"


_BY_CALL = {
    "Einsum": _einsum,
    "Sum": lambda fn: _reduction(fn, "Sum"),
    "Mean": lambda fn: _reduction(fn, "Mean"),
    "MatMul": _matmul,
    "Linear": _linear,
    "GetItem": _getitem,
    "Triangle": _triangle,
    "Prod": lambda fn: "ProdBackward0" if getattr(fn, "dim", None) is None else "ProdBackward1",
    "L1": lambda fn: _by_reduction(fn, "AbsBackward0"),
    "RNNCellStep": lambda fn: "ReluBackward0" if fn.relu else "TanhBackward0",
    # a piecewise-linear op's first derivative (ops/piecewise_link.py): the op's own name
    "PiecewiseLink": lambda fn: getattr(fn, "torch_name", None) or "PiecewiseLinkBackward0",
    "KLDiv": lambda fn: _by_reduction(
        fn, "MulBackward0" if getattr(fn, "log_target", False) else "SubBackward0"
    ),
}


def torch_name(fn) -> str:
    """PyTorch's name of the grad_fn that ``fn`` stands for."""
    cls = type(fn).__name__
    by_call = _BY_CALL.get(cls)
    if by_call is not None:
        kept = _KEPT.get(fn)
        if kept is None:
            kept = by_call(fn)
            if not fn.freed:  # read from the live op: right for the rest of its life
                _KEPT[fn] = kept
        return kept
    return _RENAMED.get(cls) or f"{cls}Backward0"


def keep_name(fn):
    """Read ``fn``'s call-dependent name now, while its inputs are linked (see the module);
    returns ``fn`` (None passes through)."""
    if fn is not None and fn.named_by_call:
        torch_name(fn)  # (kept there)
    return fn
