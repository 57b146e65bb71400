"""cr.load and the CLI on a file of another format say what the file looks like."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_loading_an_exported_onnx_file_says_it_is_onnx(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    cr.onnx.export(nn.Linear(4, 2), path, np.zeros((1, 4), np.float32))
    with pytest.raises(cr.ModelFormatError, match=r"looks like an ONNX file.*onnxruntime"):
        cr.load(path)
    renamed = tmp_path / "model.bin"  # recognised by its first bytes too
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(cr.ModelFormatError, match="ONNX"):
        cr.load(renamed)


def test_cli_names_an_onnx_file_given_as_the_model(tmp_path, capsys):
    pytest.importorskip("onnx")
    from chainrule.cli.main import main

    path = tmp_path / "model.onnx"
    cr.onnx.export(nn.Linear(4, 2), path, np.zeros((1, 4), np.float32))
    assert main(["info", str(path)]) == 2
    assert "looks like an ONNX file" in capsys.readouterr().err


def test_hdf5_and_short_text_files_are_named(tmp_path):
    h5 = tmp_path / "weights.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(cr.ModelFormatError, match="HDF5"):
        cr.io.read(h5)
    short = tmp_path / "m.safetensors"
    short.write_bytes(b"hello")
    with pytest.raises(cr.ModelFormatError, match="too short.*text file"):
        cr.io.read(short)


def test_a_damaged_safetensors_file_gets_no_foreign_hint(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save(nn.Linear(2, 2), path)
    path.write_bytes(path.read_bytes()[:20])  # cut short
    with pytest.raises(cr.ModelFormatError) as info:
        cr.load(path)
    assert "looks like" not in str(info.value)
