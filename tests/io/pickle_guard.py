"""A test-session guard: chainrule's own code must never unpickle, unmarshal, eval or exec.

While installed, ``pickle.load``, ``pickle.loads``, ``pickle.Unpickler``, ``marshal.loads``,
``builtins.eval`` and ``builtins.exec`` are wrapped (one exec is allowed: ``cr.compile``
defining the step function it generated, see ``_generated_step``). A call is refused (and
recorded) when the code that made it belongs to the ``chainrule`` package; calls from anywhere
else (pytest, torch, NumPy, the tests themselves, the standard library) go through unchanged.
Frames of libraries that merely pass a call along (``numpy.load`` calling ``pickle.load``) are
skipped when looking for the caller, so ``np.load(..., allow_pickle=True)`` inside chainrule is
caught too.

A refused call raises :class:`PickleGuardViolation`; because a loader might catch and wrap that
error, every violation is also recorded, and the fixtures fail the test that caused it.

Enable it for the whole suite from ``tests/conftest.py``::

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "io"))
    from pickle_guard import pickle_guard, pickle_guard_check  # noqa: E402,F401
"""

from __future__ import annotations

import builtins
import marshal
import os
import pickle
import sys

import pytest

_PASS_THROUGH = ("numpy", "pickle", "_pickle", "copyreg", "marshal", "zipfile", "io", "_io")
_PACKAGE_DIR = None
_originals: dict = {}
_installs = 0
violations: list[str] = []


class PickleGuardViolation(RuntimeError):
    """chainrule code called a deserializer or evaluator that can run arbitrary code."""


def _package_dir() -> str:
    global _PACKAGE_DIR
    if _PACKAGE_DIR is None:
        import chainrule

        _PACKAGE_DIR = os.path.dirname(os.path.abspath(chainrule.__file__)) + os.sep
    return _PACKAGE_DIR


def _is_chainrule(frame) -> bool:
    name = frame.f_globals.get("__name__") or ""
    if name == "chainrule" or name.startswith("chainrule."):
        return True
    return os.path.abspath(frame.f_code.co_filename).startswith(_package_dir())


def _caller_is_chainrule(depth: int) -> bool:
    frame = sys._getframe(depth + 1)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name.split(".", 1)[0] not in _PASS_THROUGH:
            return _is_chainrule(frame)
        frame = frame.f_back
    return False


def _refuse(what: str):
    frame = sys._getframe(2)
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    message = f"chainrule called {what} ({where}); loading must never run code from a file"
    violations.append(message)
    raise PickleGuardViolation(message)


def _guarded_load(*args, **kwargs):
    if _caller_is_chainrule(1):
        _refuse("pickle.load")
    return _originals["load"](*args, **kwargs)


def _guarded_loads(*args, **kwargs):
    if _caller_is_chainrule(1):
        _refuse("pickle.loads")
    return _originals["loads"](*args, **kwargs)


def _guarded_marshal_loads(*args, **kwargs):
    if _caller_is_chainrule(1):
        _refuse("marshal.loads")
    return _originals["marshal_loads"](*args, **kwargs)


def _guarded_eval(source, globals=None, locals=None, /):
    if _caller_is_chainrule(1):
        _refuse("eval")
    if globals is None:  # evaluate in the caller's namespace, as the real eval does
        frame = sys._getframe(1)
        globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
    return _originals["eval"](source, globals, locals)


def _generated_step(source) -> bool:
    """cr.compile's one allowed exec: a code object that chainrule.autograd.compile_python
    compiled from source it generated from a recorded graph (never from a file or a string
    it was given), defining the step function; the code object's file name marks it."""
    caller = sys._getframe(2).f_globals.get("__name__")
    return (
        caller == "chainrule.autograd.compile_python"
        and hasattr(source, "co_filename")
        and source.co_filename.startswith("<cr.compile")
    )


def _guarded_exec(source, globals=None, locals=None, /, **kwargs):
    if _caller_is_chainrule(1) and not _generated_step(source):
        _refuse("exec")
    if globals is None:
        frame = sys._getframe(1)
        globals, locals = frame.f_globals, frame.f_locals if locals is None else locals
    return _originals["exec"](source, globals, locals, **kwargs)


def _guarded_unpickler():
    base = _originals["Unpickler"]

    class GuardedUnpickler(base):
        def __init__(self, *args, **kwargs):
            if _caller_is_chainrule(1):
                _refuse("pickle.Unpickler")
            super().__init__(*args, **kwargs)

    GuardedUnpickler.__name__ = "Unpickler"
    GuardedUnpickler.__qualname__ = "Unpickler"
    return GuardedUnpickler


def install() -> None:
    """Wrap the six entry points (idempotent; pairs with :func:`uninstall`)."""
    global _installs
    _installs += 1
    if _installs > 1:
        return
    _package_dir()
    _originals.update(
        load=pickle.load,
        loads=pickle.loads,
        Unpickler=pickle.Unpickler,
        marshal_loads=marshal.loads,
        eval=builtins.eval,
        exec=builtins.exec,
    )
    pickle.load = _guarded_load
    pickle.loads = _guarded_loads
    pickle.Unpickler = _guarded_unpickler()
    marshal.loads = _guarded_marshal_loads
    builtins.eval = _guarded_eval
    builtins.exec = _guarded_exec


def uninstall() -> None:
    global _installs
    _installs -= 1
    if _installs > 0:
        return
    pickle.load = _originals["load"]
    pickle.loads = _originals["loads"]
    pickle.Unpickler = _originals["Unpickler"]
    marshal.loads = _originals["marshal_loads"]
    builtins.eval = _originals["eval"]
    builtins.exec = _originals["exec"]


def installed() -> bool:
    return _installs > 0


@pytest.fixture(scope="session", autouse=True)
def pickle_guard():
    """Session-wide: install the guard once; fail the session if anything was refused."""
    install()
    yield
    uninstall()
    if violations:
        pytest.fail("pickle guard: " + "; ".join(violations), pytrace=False)


@pytest.fixture(autouse=True)
def pickle_guard_check(pickle_guard):
    """Per test: fail the test in which chainrule called a refused function."""
    seen = len(violations)
    yield
    if len(violations) > seen:
        new = violations[seen:]
        del violations[seen:]
        pytest.fail("pickle guard: " + "; ".join(new), pytrace=False)
