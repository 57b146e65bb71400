"""The error the ONNX exporter raises (its own file, so every exporter module can raise it)."""

from chainrule.errors import ChainruleError


class ExportError(ChainruleError, ValueError):
    """A model (or a layer of it) cannot be written as ONNX; the message says what to change."""
