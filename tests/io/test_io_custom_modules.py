"""Your own Module subclasses, opted in with @nn.register, saved with their architecture and
loaded in a new process; nothing else the file names is imported or built."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import module_from_config, module_to_config

_MODULE = """
from chainrule import nn


@nn.register
class TwoTower(nn.Module):
    def __init__(self, n_in, hidden=8, *, act="tanh"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, hidden), nn.Tanh() if act == "tanh" else nn.ReLU()
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.head(self.body(x))
"""


def _run(code: str, cwd, pythonpath) -> subprocess.CompletedProcess:
    env_path = ":".join(str(p) for p in pythonpath)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def user_module(tmp_path):
    """A module file, ``user_nets_<n>.py``, defining a registered class (a name of its own, so
    no other test's import of it is in sys.modules)."""
    name = f"user_nets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(_MODULE)
    return name


def _src_path():
    return cr.__file__.rsplit("/chainrule/", 1)[0]


def test_a_registered_class_round_trips_in_a_new_process(tmp_path, user_module):
    save = f"""
    import numpy as np
    import chainrule as cr
    from chainrule import nn
    from {user_module} import TwoTower

    cr.manual_seed(0)
    model = nn.Sequential(TwoTower(3, hidden=5, act="relu"), nn.Sigmoid())
    cr.save(model, "model.safetensors")
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    np.save("x.npy", x)
    np.save("out.npy", model(cr.tensor(x)).detach().numpy())
    """
    done = _run(save, tmp_path, [_src_path(), tmp_path])
    assert done.returncode == 0, done.stderr
    load = """
    import numpy as np
    import chainrule as cr

    model = cr.load("model.safetensors", import_from=["{m}"])
    assert type(model[0]).__name__ == "TwoTower" and type(model[0].body[1]).__name__ == "ReLU"
    assert model[0].head.in_features == 5 and not model.training
    out = model(cr.tensor(np.load("x.npy"))).detach().numpy()
    np.testing.assert_array_equal(out, np.load("out.npy"))
    print("ok")
    """.replace("{m}", user_module)
    done = _run(load, tmp_path, [_src_path(), tmp_path])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    # imported by the program itself first (its usual `from models import Net`): no import_from
    done = _run(
        f"import chainrule as cr, {user_module}\ncr.load('model.safetensors')\nprint('ok')",
        tmp_path,
        [_src_path(), tmp_path],
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_class_not_registered_in_the_loading_process_is_named(tmp_path, user_module):
    sys.path.insert(0, str(tmp_path))
    try:
        module = __import__(user_module)
        cr.save(module.TwoTower(2), tmp_path / "m.safetensors")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(user_module, None)
    code = "import chainrule as cr\ncr.load('m.safetensors')"
    done = _run(code, tmp_path, [_src_path(), tmp_path])
    assert done.returncode != 0
    assert f"the file names the class {user_module}:TwoTower" in done.stderr
    assert f"import {user_module} before loading" in done.stderr
    assert f"cr.load(path, import_from=['{user_module}'])" in done.stderr
    # named, but not on the path: the import error, and where to put the module
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    file = tmp_path / "m.safetensors"
    done = _run(
        f"import chainrule as cr\ncr.load({str(file)!r}, import_from=['{user_module}'])",
        elsewhere,
        [_src_path()],
    )
    assert "its module cannot be imported" in done.stderr and "PYTHONPATH" in done.stderr


def test_a_file_cannot_import_or_build_what_the_caller_did_not_allow(tmp_path):
    # a module with a side effect on import: the file names it, the loader must not import it
    marker = tmp_path / "imported"
    name = f"side_effect_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Net:\n    pass\n"
    )
    config = {"type": "Custom", "class": f"{name}:Net", "args": [], "kwargs": {}}
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(cr.ModelFormatError, match="not registered in this process"):
            module_from_config(config)
        assert not marker.exists() and name not in sys.modules
        # allowed by name and imported, but the class is not registered: still not built
        with pytest.raises(cr.ModelFormatError, match="registered no such class"):
            module_from_config(config, import_from=[name])
        assert marker.exists()
        for path in ("os:system", "builtins:eval", "os.path:join"):
            with pytest.raises(cr.ModelFormatError, match="not registered in this process"):
                module_from_config({**config, "class": path})
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    for bad in ("os", "a:b:c", "os:system()", "../x:Y", ""):
        with pytest.raises(cr.ModelFormatError, match="'class' must be 'module:ClassName'"):
            module_from_config({**config, "class": bad})


@nn.register
class Tower(nn.Module):
    def __init__(self, n_in, sizes=(4,)):
        super().__init__()
        widths = [n_in, *sizes]
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths, widths[1:])])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class _Unregistered(Tower):
    pass


def test_save_names_the_class_and_what_to_do(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

    with pytest.raises(
        cr.ModelFormatError,
        match=r"cannot describe Net \(.*:test_save_names_the_class_and_what_to_do.<locals>.Net\)"
        r".*@cr.nn.register above 'class Net'.*or save model.state_dict\(\)",
    ):
        cr.save(Net(), tmp_path / "m.safetensors")
    # a subclass of a registered class is not registered by its parent
    with pytest.raises(cr.ModelFormatError, match="cannot describe _Unregistered"):
        cr.save(_Unregistered(2), tmp_path / "m.safetensors")
    with pytest.raises(cr.ModelFormatError, match=r"Tower\(sizes=\): it is array\(\[3\]\)"):
        cr.save(Tower(2, sizes=np.array([3])), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="defined inside a function"):
        nn.register(Net)
    assert list(tmp_path.iterdir()) == []


def test_a_registered_class_round_trips_in_process(tmp_path):
    cr.manual_seed(1)
    model = nn.Sequential(Tower(3, sizes=(5, 2)), nn.Tanh())
    config = module_to_config(model)
    assert config["children"][0] == {
        "type": "Custom",
        "class": f"{__name__}:Tower",
        "args": [3],
        "kwargs": {"sizes": [5, 2]},  # a tuple comes back as a list
    }
    cr.save(model, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors")
    x = cr.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
    assert cr.io.read_metadata(tmp_path / "m.safetensors")["architecture"] == json.loads(
        json.dumps(config)
    )


def test_a_registered_class_whose_part_is_shared_elsewhere_is_refused(tmp_path):
    tower = Tower(2, sizes=(2,))
    model = nn.Sequential(tower, tower.layers[0])  # the constructor would make a second Linear
    with pytest.raises(cr.ModelFormatError, match="also part of the layer at '0'"):
        cr.save(model, tmp_path / "m.safetensors")
    shared = nn.Sequential(tower, tower)  # the whole layer twice is fine: written as Shared
    cr.save(shared, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors")
    assert back[0] is back[1]


def test_arguments_the_class_no_longer_takes_are_named():
    renamed = {"type": "Custom", "class": f"{__name__}:Tower", "args": [2], "kwargs": {"depth": 3}}
    with pytest.raises(cr.ModelFormatError, match=r"cannot build .*Tower from the file's arg"):
        module_from_config(renamed)
    # a file whose registered class holds more values than it stores is refused
    big = {"type": "Custom", "class": f"{__name__}:Tower", "args": [2], "kwargs": {}}
    with pytest.raises(cr.ModelFormatError, match="more than the limit of 3"):
        module_from_config(big, max_parameters=3)


def test_a_class_of_the_saving_script_is_named_as_such():
    config = {"type": "Custom", "class": "__main__:Net", "args": [], "kwargs": {}}
    with pytest.raises(cr.ModelFormatError, match="defined in the script that saved it"):
        module_from_config(config, import_from=["__main__"])
