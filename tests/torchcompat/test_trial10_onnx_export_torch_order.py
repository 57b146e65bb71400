"""``torch.onnx.export(model, args, f)`` under ``install_as_torch()`` reaches
``cr.onnx.export(model, path, example_input)`` with the input and the file swapped: it is
refused with a message that names PyTorch's order and the call to write (it failed with
"example_input must hold numbers, got dtype <U...")."""

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("onnx")


def test_pytorch_argument_order_is_named(tmp_path):
    from chainrule.onnx.errors import ExportError

    model = cr.nn.Sequential(cr.nn.Linear(3, 2))
    x = cr.randn(1, 3)
    path = str(tmp_path / "m.onnx")
    for args in (x, (x,), np.zeros((1, 3), np.float32)):
        with pytest.raises(ExportError, match=r"torch\.onnx\.export\(model, args, f\)"):
            cr.onnx.export(model, args, path)
    with pytest.raises(ExportError, match=r"cr\.onnx\.export\(model, f, args\)"):
        cr.onnx.export(model, x, tmp_path / "m.onnx")


def test_chainrule_order_still_exports(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 2))
    proto = cr.onnx.export(model, str(tmp_path / "m.onnx"), np.zeros((1, 3), np.float32))
    assert [i.name for i in proto.graph.input] == ["input"]
    assert (tmp_path / "m.onnx").exists()
