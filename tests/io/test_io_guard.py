"""The pickle guard itself: refuses chainrule's calls, lets everyone else's through."""

import builtins
import io
import marshal
import pickle

import numpy as np
import pickle_guard
import pytest


def chainrule_function(source: str):
    """A function whose module is inside the chainrule package, as the guard sees it."""
    namespace = {"__name__": "chainrule._guard_probe", "pickle": pickle, "np": np, "io": io}
    namespace["marshal"] = marshal
    code = compile(f"def probe(arg):\n    return {source}\n", "chainrule/_guard_probe.py", "exec")
    pickle_guard._originals["exec"](code, namespace)
    return namespace["probe"]


@pytest.fixture
def expect_violation():
    seen = len(pickle_guard.violations)
    yield
    assert len(pickle_guard.violations) == seen + 1
    del pickle_guard.violations[seen:]


def test_guard_is_installed():
    assert pickle_guard.installed()
    assert pickle.loads is not pickle_guard._originals["loads"]
    assert builtins.eval is not pickle_guard._originals["eval"]


@pytest.mark.parametrize(
    "source",
    [
        "pickle.loads(arg)",
        "pickle.load(io.BytesIO(arg))",
        "pickle.Unpickler(io.BytesIO(arg)).load()",
        "marshal.loads(marshal.dumps(1))",
        "eval('1 + 1')",
        "exec('x = 1')",
        "np.load(io.BytesIO(arg), allow_pickle=True)",
    ],
)
def test_calls_from_chainrule_are_refused(source, expect_violation):
    if source.startswith("np.load"):
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        arg = buf.getvalue()
    else:
        arg = pickle.dumps([1, 2])
    probe = chainrule_function(source)
    with pytest.raises(pickle_guard.PickleGuardViolation, match="chainrule called"):
        probe(arg)


def test_everyone_else_is_unaffected():
    local_value = 20  # noqa: F841 - read by eval below
    assert eval("local_value + 1") == 21
    namespace = {}
    exec("y = 2 * 3", namespace)
    assert namespace["y"] == 6
    assert pickle.loads(pickle.dumps({"a": (1, 2)})) == {"a": (1, 2)}
    assert pickle.Unpickler(io.BytesIO(pickle.dumps(5))).load() == 5
    assert marshal.loads(marshal.dumps([1])) == [1]
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    buf.seek(0)
    assert np.load(buf, allow_pickle=True)[0] == {"a": 1}
