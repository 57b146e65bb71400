"""Devices and PyTorch's dtype names: the core's share of PyTorch's spelling (chainrule
computes on the CPU; ``device=`` is accepted and checked everywhere PyTorch takes it)."""

from __future__ import annotations


class DtypeName(str):
    """A dtype as ``cr.float64`` spells it: its name (a ``str``, so every ``dtype=`` and NumPy
    take it), told apart from a plain string where PyTorch reads strings as devices
    (``x.to("float64")`` raises there, ``x.to(torch.float64)`` converts)."""

    __slots__ = ()

    # torch.dtype's attributes, so that cr.float32.is_floating_point reads as in PyTorch. (A
    # tensor's .dtype is NumPy's dtype, which takes no new attributes: x.is_floating_point().)
    @property
    def is_floating_point(self) -> bool:
        return self.startswith("float")

    @property
    def is_complex(self) -> bool:
        return self.startswith("complex")

    @property
    def is_signed(self) -> bool:
        return not self.startswith(("uint", "bool"))

    @property
    def itemsize(self) -> int:
        import numpy as np

        return np.dtype(str(self)).itemsize


# PyTorch's dtype names, as the dtype names chainrule's ``dtype=`` arguments take.
_ALIAS_TEXT = {
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
DTYPE_ALIASES = {alias: DtypeName(name) for alias, name in _ALIAS_TEXT.items()}

# The device types PyTorch's device strings may start with (the rest are invalid strings there).
_DEVICE_TYPES = frozenset(
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu "
    "mtia privateuseone".split()
)


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
    if isinstance(spec, str) and text.partition(":")[0] not in _DEVICE_TYPES:
        hint = "a device is 'cpu' here"
        if text.removeprefix("torch.") in DTYPE_ALIASES:
            hint = f"a dtype is passed as cr.{text.removeprefix('torch.')}, not as a string"
        raise RuntimeError(f"Invalid device string: {text!r} (as in PyTorch); {hint}")
    raise NotImplementedError(
        f"device {text!r} is not supported: chainrule computes with NumPy on the CPU only; "
        f"use device='cpu' (or leave device= out)"
    )
