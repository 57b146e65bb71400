"""``--import MODULE`` on every command that loads a saved model: a model holding a layer class
of the user's own (``@nn.register``) is predicted, evaluated, explained, described and
exported as ``cr.load(path, import_from=[...])`` loads it from Python, and a module that cannot
be imported or a class still unknown is a one-line error naming the fix."""

import sys

import pytest
from cli_helpers import write_classification_csv

import chainrule as cr
from chainrule import nn
from chainrule.cli.main import main

_MODULE = """
from chainrule import nn


@nn.register
class Gain(nn.Module):
    def __init__(self, gain=1.0):
        super().__init__()
        self.gain = gain

    def forward(self, x):
        return x * self.gain
"""


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def custom_model(tmp_path, monkeypatch):
    """A model trained by ``chainrule train`` with the user's ``Gain`` layer put in front of it
    and saved again with the same metadata, its module ``gain_<n>.py`` in ``tmp_path`` (a name
    of its own per test: nothing has imported or registered it yet) and ``tmp_path`` the
    current folder, left off ``sys.path`` as for the installed ``chainrule`` script."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    trained = tmp_path / "trained.safetensors"
    args = ["train", data, "--target", "species", "--epochs", "1", "--no-plots", "--out", trained]
    assert main([str(a) for a in args]) == 0
    name = f"gain_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(_MODULE)
    namespace = {}
    exec(compile(_MODULE, f"{name}.py", "exec"), namespace)  # the class, registered under name
    gain = namespace["Gain"]
    gain.__module__ = name
    nn.register(gain)
    network = cr.load(trained)
    model = nn.Sequential(gain(1.0), *network)
    path = tmp_path / "custom.safetensors"
    cr.save(model, path, metadata=network.metadata)
    from chainrule.nn.registry.custom import REGISTERED

    REGISTERED.pop(f"{name}:Gain")  # as in a new process: only --import registers it
    return path, data, name


def test_predict_evaluate_explain_info_read_a_model_with_a_registered_class(custom_model, capsys):
    path, data, name = custom_model
    code, out, err = _cli(capsys, "predict", path, data, "--import", name)
    assert code == 0, err
    code, baseline, err = _cli(capsys, "predict", path.parent / "trained.safetensors", data)
    assert out == baseline  # Gain(1.0) changes nothing
    code, out, err = _cli(capsys, "evaluate", path, data, "--import", name)
    assert code == 0 and "accuracy" in out, err
    code, out, err = _cli(capsys, "explain", path, "--data", data, "--import", name)
    assert code == 0 and "Backpropagation, explained" in out, err
    code, out, err = _cli(capsys, "info", path, "--import", name)
    assert code == 0 and "(0): Gain()" in out, err


def test_without_import_the_error_names_the_flag_to_pass(custom_model, capsys):
    path, data, name = custom_model
    for args in (["predict", path, data], ["info", path], ["explain", path, "--data", data]):
        code, out, err = _cli(capsys, *args)
        assert code == 2
        assert f"{name}:Gain" in err and f"--import {name}" in err and len(err.splitlines()) == 1


def test_an_import_that_registers_nothing_says_so(custom_model, capsys):
    path, data, name = custom_model
    code, out, err = _cli(capsys, "predict", path, data, "--import", "json")
    assert code == 2 and f"pass --import {name}" in err
    (path.parent / f"{name}.py").write_text("x = 1\n")  # the class was renamed away
    code, out, err = _cli(capsys, "info", path, "--import", name)
    assert code == 2 and f"--import {name} registered no such class" in err


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("no_such_module_here", "cannot import it (No module named 'no_such_module_here')"),
        ("layers.py", "expected a module name such as mylayers"),
        ("broken_module", "importing it failed: ZeroDivisionError"),
    ],
)
def test_a_module_that_cannot_be_imported_is_one_line(custom_model, capsys, module, says):
    path, data, name = custom_model
    (path.parent / "broken_module.py").write_text("1 / 0\n")
    code, out, err = _cli(capsys, "info", path, "--import", module)
    assert code == 2 and says in err and len(err.splitlines()) == 1


def test_export_takes_import_and_names_the_missing_converter(custom_model, capsys):
    pytest.importorskip("onnx")
    path, data, name = custom_model
    onnx_path = path.parent / "m.onnx"
    code, out, err = _cli(capsys, "export", path, "--onnx", onnx_path)
    assert code == 2 and f"--import {name}" in err
    code, out, err = _cli(capsys, "export", path, "--onnx", onnx_path, "--import", name)
    assert code == 2 and "register_converter(Gain)" in err  # it loaded; ONNX lacks the layer


_COMMANDS = {
    "predict": ["m.safetensors", "x.csv"],
    "evaluate": ["m.safetensors", "x.csv"],
    "explain": ["m.safetensors"],
    "info": ["m.safetensors"],
    "export": ["m.safetensors", "--onnx", "o.onnx"],
}


@pytest.mark.parametrize("command", _COMMANDS)
def test_every_command_that_loads_a_model_takes_import_repeated(command):
    from chainrule.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args([command, *_COMMANDS[command], "--import", "a", "--import", "b.c"])
    assert args.import_from == ["a", "b.c"]
    assert parser.parse_args([command, *_COMMANDS[command]]).import_from == []
