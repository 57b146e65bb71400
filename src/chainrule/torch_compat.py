"""PyTorch's spelling on top of chainrule: dtype aliases, ``device``, and ``install_as_torch``.

``chainrule.install_as_torch()`` makes ``import torch`` (and ``torch.nn``, ``torch.nn.functional``,
``torch.optim``, ``torch.utils.data``, ``torch.autograd``) resolve to chainrule, so a script
written for PyTorch's CPU tensors runs unchanged. It is opt-in and never automatic: importing
chainrule changes nothing until you call it. See docs/pytorch.md for what is covered.
"""

from __future__ import annotations

import importlib
import sys

from chainrule import _torch_names
from chainrule._device import DTYPE_ALIASES, check_device, device  # noqa: F401 - re-exported
from chainrule._nearest import closest, message
from chainrule.errors import NotSupportedError  # noqa: F401 - re-exported


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


class _Unavailable:
    """A device backend that is never available (``torch.backends.mps``, ``torch.accelerator``)."""

    def __init__(self, name: str):
        self._name = name

    def is_available(self) -> bool:
        return False

    def current_accelerator(self):
        return None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotSupportedError(
            f"{self._name}.{name} is not supported: chainrule computes on the CPU only"
        )


class _Settings:
    """``torch.backends.cudnn``-style flags: settable and readable, with no effect here
    (chainrule's CPU results are deterministic already)."""

    def __init__(self):
        self.deterministic = False
        self.benchmark = False
        self.enabled = False

    def is_available(self) -> bool:
        return False


class _Backends:
    def __init__(self):
        self.mps = _Unavailable("torch.backends.mps")
        self.cudnn = _Settings()


accelerator = _Unavailable("torch.accelerator")
backends = _Backends()

# ---- install_as_torch ------------------------------------------------------------------------
# torch module name -> chainrule module name
ALIASES = {
    "torch": "chainrule",
    "torch.nn": "chainrule.nn",
    "torch.nn.functional": "chainrule.nn.functional",
    "torch.nn.init": "chainrule.nn.init",
    "torch.nn.attention": "chainrule.nn.attention",  # SDPBackend, sdpa_kernel
    "torch.nn.utils": "chainrule.nn.utils",
    "torch.nn.utils.rnn": "chainrule.nn.utils.rnn",
    "torch.nn.utils.parametrize": "chainrule.nn.utils.parametrize",
    "torch.nn.utils.parametrizations": "chainrule.nn.utils.parametrizations",
    # PyTorch's file paths under torch.nn.utils (from torch.nn.utils.weight_norm import
    # WeightNorm): unaliased, the import would load a second copy of the file and set the
    # module in place of the function of the same name (nn.utils.weight_norm)
    "torch.nn.utils.weight_norm": "chainrule.nn.utils.weight_norm",
    "torch.nn.utils.spectral_norm": "chainrule.nn.utils.spectral_norm",
    "torch.nn.utils.clip_grad": "chainrule.nn.utils.clip_grad",
    "torch.nn.utils.convert_parameters": "chainrule.nn.utils.convert_parameters",
    "torch.optim": "chainrule.optim",
    "torch.distributions": "chainrule.distributions",
    "torch.distributions.constraints": "chainrule.distributions.constraints",
    "torch.distributions.kl": "chainrule.distributions.kl",
    "torch.optim.lr_scheduler": "chainrule.optim.lr_scheduler",
    "torch.optim.swa_utils": "chainrule.optim.swa_utils",
    "torch.utils": "chainrule.utils",
    "torch.utils.data": "chainrule.utils.data",
    "torch.autograd": "chainrule.autograd",
    "torch.linalg": "chainrule.linalg",
    "torch.autograd.functional": "chainrule.autograd.functional",
    # Function, FunctionCtx, once_differentiable (chainrule.autograd.function is the op base)
    "torch.autograd.function": "chainrule.autograd.custom",
    "torch.nn.modules": "chainrule.nn.modules",
    "torch.nn.parameter": "chainrule.nn.parameter",
    "torch.nn.common_types": "chainrule.nn.common_types",
}
# torch.nn.modules.<name> (from torch.nn.modules.loss import _Loss, ...): the file of that name
# in chainrule.nn.modules
_NN_MODULES = (
    "activation", "adaptive", "batchnorm", "channelshuffle", "container", "conv", "distance",
    "dropout", "flatten", "fold", "instancenorm", "linear", "loss", "module", "normalization",
    "padding", "pixelshuffle", "pooling", "rnn", "sparse", "transformer", "upsampling", "utils",
)  # fmt: skip
ALIASES.update({f"torch.nn.modules.{name}": f"chainrule.nn.modules.{name}" for name in _NN_MODULES})
# torch.distributions.<file> (from torch.distributions.normal import Normal): the same file names
_DISTRIBUTIONS = (
    "bernoulli", "categorical", "distribution", "exponential", "independent", "laplace",
    "multivariate_normal", "normal", "one_hot_categorical", "poisson", "uniform",
    "utils",
)  # fmt: skip
ALIASES.update(
    {f"torch.distributions.{name}": f"chainrule.distributions.{name}" for name in _DISTRIBUTIONS}
)
_saved: dict = {}


def install_as_torch() -> None:
    """Make ``import torch`` and its submodules resolve to chainrule in this process.

    Call it before the code that says ``import torch`` runs (for example at the top of a
    script, or in the process that ``runpy``-runs an unmodified PyTorch file). It adds
    aliases to ``sys.modules``; :func:`uninstall_torch` removes them.

    Raises:
        RuntimeError: the real PyTorch is already imported in this process (its objects and
            chainrule's would mix).

    Example (in a process that has not imported the real PyTorch):
        >>> import chainrule
        >>> chainrule.install_as_torch()  # doctest: +SKIP
        >>> import torch  # doctest: +SKIP
        >>> torch is chainrule  # doctest: +SKIP
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


# ---- PyTorch names chainrule does not have (yet) ------------------------------------------------
# module -> {name: the nearest chainrule spelling}. Looking one up raises NotSupportedError
# with that hint instead of a bare AttributeError; docs/pytorch.md lists the same names.
UNSUPPORTED: dict[str, dict[str, str]] = {
    "torch": {
        "fft": "NumPy's np.fft on t.detach().numpy() (not differentiable)",
        "sparse": "dense tensors only",
        "jit": "run the Python code as it is; cr.compile replays a fixed graph faster",
        "amp": "float32 or float64 only (no mixed precision)",
        "autocast": "float32 or float64 only (no mixed precision)",
        "complex64": "real dtypes only (float, int, bool)",
        "complex128": "real dtypes only (float, int, bool)",
        "bfloat16": "float32 or float64 (float16 for storage)",
        "FloatTensor": "cr.tensor(data, dtype=cr.float32)",
        "LongTensor": "cr.tensor(data, dtype=cr.long)",
        "hub": "build the model in code and load weights with model.load_state_dict",
        "onnx": "cr.onnx.export(model, path, example_input) (docs/onnx.md)",
        "quantization": "float32 or float64 only",
        "embedding_bag": "chainrule.nn.functional.embedding_bag (the bags; not ATen's offset2bag, "
        "bag_size and max_indices)",
    },
    "torch.nn": {
        "DataParallel": "distributed.DistributedDataParallel under mpiexec (docs/distributed.md)",
    },
}


# where each PyTorch namespace lives in chainrule, and its list in _torch_names (Tensor's
# placeholders are set up in tensor_methods.py)
_HOMES = {
    "torch": ("chainrule", "TORCH"),
    "torch.nn": ("chainrule.nn", "NN"),
    "torch.nn.functional": ("chainrule.nn.functional", "NN_FUNCTIONAL"),
}


def unsupported(module: str, name: str) -> NotSupportedError | None:
    """The error to raise for ``module.name`` if it is a PyTorch name chainrule lacks: the
    hand-written hint above, else the closest names chainrule has (``None`` for a name that
    is not PyTorch's, or private: pickle and copy probe ``__dunder__`` names)."""
    if name.startswith("_"):
        return None
    hint = UNSUPPORTED.get(module, {}).get(name)
    if hint is None:
        home, listed = _HOMES.get(module, (None, None))
        if listed is None or name not in getattr(_torch_names, listed) or _is_package(home, name):
            return None
        hint = closest(name, dir(importlib.import_module(home)), home)
    return NotSupportedError(message(f"{module}.{name}", hint))


def _is_package(home: str, name: str) -> bool:
    """``chainrule.testing`` and the like: a subpackage chainrule has but has not imported."""
    import importlib.util

    try:
        return importlib.util.find_spec(f"{home}.{name}") is not None
    except ImportError:  # home is a module, not a package
        return False


def is_tensor(obj) -> bool:
    """``torch.is_tensor``: whether ``obj`` is a chainrule Tensor."""
    from chainrule.tensor import Tensor

    return isinstance(obj, Tensor)


def add(input, other, *, alpha=1):  # noqa: A002 - PyTorch's names
    """``torch.add``: ``input + alpha * other``."""
    from chainrule import ops
    from chainrule.ops.arith_forms import alpha_times, check_alpha

    check_alpha(input, other, alpha)
    return ops.add(input, alpha_times(input, other, alpha))


def sub(input, other, *, alpha=1):  # noqa: A002
    """``torch.sub``: ``input - alpha * other``."""
    from chainrule import ops
    from chainrule.ops.arith_forms import alpha_times, check_alpha

    check_alpha(input, other, alpha)
    return ops.sub(input, alpha_times(input, other, alpha, subtract=True))
