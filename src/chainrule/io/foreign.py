"""What a file that is not a safetensors model most likely is, from its first bytes.

A user who hands ``cr.load`` (or ``chainrule predict``) the ONNX file they exported, a
PyTorch checkpoint or their CSV should hear that, not only that a header length is wrong.
"""

from __future__ import annotations

import os

_TEXT = frozenset(b"\t\n\r") | frozenset(range(32, 127))


def foreign_format_hint(source: str, prefix: bytes) -> str:
    """``"; it looks like ... (what to do)"`` for a recognised other format, else ``""``."""
    ext = os.path.splitext(source)[1].lower()
    # an ONNX ModelProto starts with ir_version (field 1) then another field's tag
    onnx_start = prefix[:1] == b"\x08" and prefix[2:3] in (b"\x12", b"\x1a", b"\x22", b"\x3a")
    if ext == ".onnx" or (onnx_start and ext != ".safetensors"):  # a damaged model stays one
        kind = (
            "an ONNX file: chainrule writes ONNX (chainrule export) but does not read it; run "
            "it with onnxruntime, or load the .safetensors model it was exported from"
        )
    elif prefix[:4] == b"PK\x03\x04":
        kind = "a zip archive (torch.save writes .pt/.pth files so); chainrule never unpickles"
    elif prefix[:4] == b"\x89HDF":
        kind = "an HDF5 file (Keras .h5)"
    elif prefix and all(b in _TEXT for b in prefix):
        kind = "a text file (a CSV or JSON?), not a model"
    else:
        return ""
    return f"; not a chainrule model file (safetensors): it looks like {kind}"
