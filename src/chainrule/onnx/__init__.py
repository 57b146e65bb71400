"""Export chainrule models to ONNX (``pip install "chainrule[onnx]"``).

``chainrule.onnx.export(model, "model.onnx", example_input)`` writes a graph that ONNX Runtime
runs with the same outputs as chainrule (checked to 1e-5 in float32 by the test suite, at
opsets 13, 17 and 21). ``export_pipeline`` adds the preprocessing a model trained by
``chainrule train`` saved with it. The ``onnx`` package is imported only when a function runs.
"""

# the attention, Transformer and Upsample converters register themselves on import
from chainrule.onnx import attention, bilinear, transformer, upsample  # noqa: F401
from chainrule.onnx.converters import Value, register_converter, supported
from chainrule.onnx.export import ExportError, convert_module, export
from chainrule.onnx.pipeline import export_pipeline

# the converters of CELU, SELU, RReLU, the shrinkages and the dropout variants
# isort: split
from chainrule.onnx import converters_activation_dropout  # noqa: E402, F401

# the converters of the rearranging layers, RMSNorm, the pooling extras and EmbeddingBag
# isort: split
from chainrule.onnx import (  # noqa: E402, F401
    converters_embedding_bag,
    converters_padding,
    converters_pooling_extra,
    converters_rearrange,
    converters_rms_norm,
)

__all__ = [
    "ExportError",
    "Value",
    "convert_module",
    "export",
    "export_pipeline",
    "register_converter",
    "supported",
]
