"""PyTorch's spelling on top of chainrule: dtype aliases, ``device``, and ``install_as_torch``.

``chainrule.install_as_torch()`` makes ``import torch`` (and ``torch.nn``, ``torch.nn.functional``,
``torch.optim``, ``torch.utils.data``, ``torch.autograd``) resolve to chainrule, so a script
written for PyTorch's CPU tensors runs unchanged. It is opt-in and never automatic: importing
chainrule changes nothing until you call it. See docs/pytorch.md for what is covered.
"""

from __future__ import annotations

import importlib
import sys


class NotSupportedError(NotImplementedError, AttributeError):
    """A PyTorch name chainrule does not have (yet); the message names the nearest spelling.

    It is an ``AttributeError`` too, so ``hasattr(torch, name)`` stays ``False`` and
    ``getattr(torch, name, default)`` returns the default.
    """


# PyTorch's dtype names, as the dtype names chainrule's ``dtype=`` arguments take.
DTYPE_ALIASES = {
    "float": "float32",
    "float32": "float32",
    "double": "float64",
    "float64": "float64",
    "half": "float16",
    "float16": "float16",
    "long": "int64",
    "int64": "int64",
    "int": "int32",
    "int32": "int32",
    "short": "int16",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}


class device(str):  # noqa: N801 - PyTorch's name
    """A device spec, as ``torch.device``: chainrule computes on the CPU only.

    ``device("cpu")`` (or ``"cpu:0"``) is accepted everywhere PyTorch takes ``device=``;
    anything else (``"cuda"``, ``"mps"``) raises :class:`NotImplementedError`. It is a ``str``
    (``"cpu"``), so code that takes device names as strings accepts it too.

    Example:
        >>> import chainrule as cr
        >>> cr.device("cpu")
        device(type='cpu')
    """

    __slots__ = ()

    def __new__(cls, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            return spec
        check_device(spec)
        text = str(spec)
        if index is not None and ":" not in text:
            text = f"{text}:{int(index)}"
        return super().__new__(cls, text)

    @property
    def type(self) -> str:
        return str.__str__(self).partition(":")[0]

    @property
    def index(self) -> int | None:
        number = str.__str__(self).partition(":")[2]
        return int(number) if number else None

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return str.__str__(self)

    __hash__ = str.__hash__


def check_device(spec) -> None:
    """Accept ``None``, ``"cpu"``, ``"cpu:N"`` or ``device("cpu")``; refuse any other device."""
    if spec is None or isinstance(spec, device):
        return
    text = str(spec)
    if text == "cpu" or text.startswith("cpu:"):
        return
    raise NotImplementedError(
        f"device {text!r} is not supported: chainrule computes with NumPy on the CPU only; "
        f"use device='cpu' (or leave device= out)"
    )


def is_available() -> bool:
    """``torch.cuda.is_available()``: always ``False`` in chainrule."""
    return False


class _Cuda:
    """The ``torch.cuda`` names CPU scripts touch: ``is_available()`` says ``False``."""

    is_available = staticmethod(is_available)

    @staticmethod
    def device_count() -> int:
        return 0

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotSupportedError(
            f"torch.cuda.{name} is not supported: chainrule computes on the CPU only"
        )


cuda = _Cuda()

# ---- install_as_torch ------------------------------------------------------------------------
# torch module name -> chainrule module name
ALIASES = {
    "torch": "chainrule",
    "torch.nn": "chainrule.nn",
    "torch.nn.functional": "chainrule.nn.functional",
    "torch.nn.init": "chainrule.nn.init",
    "torch.nn.utils": "chainrule.nn.utils",
    "torch.optim": "chainrule.optim",
    "torch.optim.lr_scheduler": "chainrule.optim.lr_scheduler",
    "torch.utils": "chainrule.utils",
    "torch.utils.data": "chainrule.utils.data",
    "torch.autograd": "chainrule.autograd",
}
_saved: dict = {}


def install_as_torch() -> None:
    """Make ``import torch`` and its submodules resolve to chainrule in this process.

    Call it before the code that says ``import torch`` runs (for example at the top of a
    script, or in the process that ``runpy``-runs an unmodified PyTorch file). It adds
    aliases to ``sys.modules``; :func:`uninstall_torch` removes them.

    Raises:
        RuntimeError: the real PyTorch is already imported in this process (its objects and
            chainrule's would mix).

    Example:
        >>> import chainrule
        >>> chainrule.install_as_torch()
        >>> import torch
        >>> torch is chainrule
        True
        >>> chainrule.uninstall_torch()
    """
    existing = sys.modules.get("torch")
    if existing is not None and getattr(existing, "__name__", "") != "chainrule":
        raise RuntimeError(
            "the real PyTorch is already imported in this process; call "
            "chainrule.install_as_torch() before anything imports torch (or in a new process)"
        )
    for alias, target in ALIASES.items():
        if alias not in _saved:
            _saved[alias] = sys.modules.get(alias)
        sys.modules[alias] = importlib.import_module(target)


def uninstall_torch() -> None:
    """Undo :func:`install_as_torch`: ``import torch`` finds the real PyTorch again."""
    for alias, previous in _saved.items():
        if previous is None:
            sys.modules.pop(alias, None)
        else:
            sys.modules[alias] = previous
    _saved.clear()


def __getattr__(name: str):
    # chainrule.float, chainrule.long, ...: module attributes here, so the builtins they
    # shadow stay untouched inside this file.
    if name in DTYPE_ALIASES:
        return DTYPE_ALIASES[name]
    raise AttributeError(f"module 'chainrule.torch_compat' has no attribute {name!r}")
