"""Optimizer: the base class that holds parameter groups and per-parameter state."""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule._blas import MIN_SIZE, axpy
from chainrule.autograd.grad_face import GRAPH_GRADS, detach_graph_grad
from chainrule.autograd.grad_mode import enable_grad
from chainrule.autograd.inplace import note_step
from chainrule.errors import DTypeError, ShapeError
from chainrule.optim import optimizer_hooks
from chainrule.optim.optimizer_hooks import OptimizerHookMethods
from chainrule.tensor import Tensor


def check_implementation_flags(optimizer, flags: dict) -> None:
    """PyTorch's switches between implementations of one update: ``foreach`` and ``fused`` pick
    a kernel (the same numbers up to rounding; chainrule has one NumPy loop), so they are
    accepted and change nothing; ``differentiable`` and ``capturable`` ask for what chainrule
    does not have, so True raises."""
    name = type(optimizer).__name__
    for key, value in flags.items():
        if key not in optimizer.implementation_flags:
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument {key!r}")
        if key == "differentiable" and value:
            raise NotImplementedError(
                f"{name}(differentiable=True) is not supported: chainrule's optimizer steps are "
                f"not recorded in the graph; leave it False"
            )
        if key == "capturable" and value:
            raise NotImplementedError(
                f"{name}(capturable=True) is for CUDA graphs, which chainrule (CPU only) does "
                f"not have; leave it False"
            )


class Optimizer(OptimizerHookMethods):
    """Base class of every optimizer: parameter groups, per-parameter state, save and load.

    A subclass passes its hyperparameters as ``defaults``, checks them in :meth:`_validate` and
    writes :meth:`step` as a short loop over ``param_groups``. Every group is a dict with the key
    ``"params"`` (a list of tensors) and one key per hyperparameter; a value given in a group
    overrides the default for that group only.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs (``model.named_parameters()``;
            the names are kept in each group's ``"param_names"``, as in PyTorch), or of dicts
            that each hold ``"params"`` and the options for that group (per-group learning
            rates, for example).
        defaults: the hyperparameters that a group does not set itself.

    Attributes:
        param_groups: the list of groups (dicts), as in PyTorch.
        state: ``{parameter tensor: {name: value}}``, e.g. momentum buffers; keyed by identity.
            A ``collections.defaultdict(dict)`` as PyTorch's, so ``state = self.state[p]``
            in a custom ``step`` gives a new empty dict for a parameter seen the first time.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> b = cr.tensor([0.0], requires_grad=True)
        >>> opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [group["lr"] for group in opt.param_groups]
        [0.1, 0.5]
    """

    # PyTorch's implementation switches the constructor takes (check_implementation_flags)
    implementation_flags: tuple[str, ...] = ("foreach", "differentiable")
    # state arrays not shaped like their parameter (load_state_dict checks the others)
    state_shapes_own: tuple[str, ...] = ()
    # State entries that are numbers, not arrays shaped like the parameter: a 0-d tensor in a
    # PyTorch state dict is one of these, or the state of a 0-d parameter (NAdam's mu_product)
    number_state: tuple[str, ...] = ("step", "mu_product")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[tuple[str, Tensor]] | Iterable[dict],
        defaults: dict[str, Any],
    ):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._workspace: dict[np.dtype, list[np.ndarray]] = {}
        self._validate(self.defaults)

        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of tensors or of dicts, got a single Tensor; "
                f"wrap it in a list: {name}([w], ...)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: params must be an ordered collection (list, tuple, generator), "
                f"not a set: the order of a set changes between runs"
            )
        param_list = list(params)
        if not param_list:
            raise ValueError(
                f"{name}: got an empty parameter list; pass the tensors to optimize, "
                f"e.g. {name}(model.parameters(), ...)"
            )
        if not isinstance(param_list[0], dict):
            param_list = [{"params": param_list}]
        for group in param_list:
            self.add_param_group(group)

    # ---- hooks for subclasses ---------------------------------------------------------------
    def _validate(self, options: dict[str, Any]) -> None:
        """Raise a ``ValueError`` that names the optimizer, the option and the bad value."""

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> None:
        """Create the state of ``param`` eagerly (Adagrad); most optimizers create it lazily."""

    # ---- groups -------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer while fine-tuning).

        Args:
            param_group: a dict with ``"params"`` (a tensor or a list of tensors) and any
                hyperparameters that should differ from the optimizer's defaults.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs the key 'params'")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: the parameters of a group must be in an ordered collection, not a set"
            )
        else:
            params = list(params)
        # (name, tensor) pairs, as from model.named_parameters(): names kept as PyTorch keeps them
        names = [p[0] for p in params if isinstance(p, tuple) and len(p) == 2]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    f"{name}: all parameters of a group must be given with names (as from "
                    f"named_parameters()) or all without; some names are missing"
                )
            params = [p[1] for p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: can only optimize chainrule Tensors, but parameter {i} of the group "
                    f"is a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (parameter {i} of the group was "
                    f"computed by an op); optimize the leaf tensors it was computed from"
                )
            if p.array.dtype.kind != "f":
                raise DTypeError(
                    f"{name}: parameters must be floating-point, parameter {i} has dtype "
                    f"{p.array.dtype}"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        for group in self.param_groups:
            if ("param_names" in group) != bool(names):
                raise ValueError(
                    f"{name}: all parameter groups must be given with names (named_parameters()) "
                    f"or all without; cannot add a group {'with' if names else 'without'} names"
                )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")

        group = {key: value for key, value in param_group.items() if key != "params"}
        if names:
            group["param_names"] = names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate(group)
        group["params"] = params
        self.param_groups.append(group)
        for p in params:
            self._init_state(p, group)

    # ---- the training-loop calls --------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter before the next backward pass.

        Args:
            set_to_none: ``True`` (default) sets ``.grad`` to ``None``, so the next backward
                writes a fresh array and a parameter without a gradient is skipped by ``step``;
                ``False`` fills the existing arrays with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad_array = p._grad_face = None  # (a .grad in the graph goes too)
                elif p.grad_array is not None:
                    p.grad_array.fill(0)
                    if GRAPH_GRADS[0]:
                        detach_graph_grad(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns the closure's loss, if given."""
        raise NotImplementedError

    def _run_closure(self, closure: Callable[[], Any] | None):
        """The start of every built-in ``step``: run the closure (if any), then note that the
        parameters are about to be written in place, so a backward() through ops recorded
        before this step that kept a parameter raises, as PyTorch's "modified by an inplace
        operation" (autograd/inplace.py, ``note_step``)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        note_step(self)
        return loss

    # ---- save and load ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"state": ..., "param_groups": ...}``.

        Parameters are referred to by their index, counting through the groups in order (as in
        PyTorch), so the dict can be saved in a checkpoint and loaded into a new optimizer built
        over the same parameters. As PyTorch's, each parameter's entry is the optimizer's own
        state dict, not a copy: later steps show in it (take ``copy.deepcopy`` of the result
        for a snapshot). The groups are shallow copies. Values are NumPy arrays, ints
        (``step``), floats, bools and tuples.
        """
        optimizer_hooks.run_state_dict_pre_hooks(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                saved["params"].append(index[id(p)])
            groups.append(saved)
        state = {index[id(p)]: p_state for p, p_state in self.state.items() if id(p) in index}
        return optimizer_hooks.run_state_dict_post_hooks(
            self, {"state": state, "param_groups": groups}
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` (hyperparameters included).

        The optimizer must have been built over the same parameters, in the same groups and
        order. Arrays are copied and cast to each parameter's dtype; integer keys and tuples
        that went through JSON (as strings and lists) are accepted.
        """
        name = type(self).__name__
        if isinstance(state_dict, dict):
            state_dict = optimizer_hooks.run_load_pre_hooks(self, dict(state_dict))
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with keys 'state' and 'param_groups' "
                f"(as returned by state_dict())"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups, this optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} holds {len(group['params'])} "
                    f"parameters, the saved group {len(saved['params'])}"
                )
            for idx, p in zip(saved["params"], group["params"]):
                by_index[int(idx)] = p
            new_group = _saved_group(self, i, saved, group)
            new_group["params"] = group["params"]
            new_groups.append(new_group)

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for idx, saved_state in state_dict["state"].items():
            p = by_index.get(int(idx))
            if p is None:
                raise ValueError(
                    f"{name}.load_state_dict: the saved state refers to parameter {idx}, "
                    f"but the optimizer has only {len(by_index)} parameters"
                )
            p_state = {}
            for key, value in saved_state.items():
                value = _plain_state_value(key, value)  # e.g. a state_dict saved by PyTorch
                if p.array.ndim == 0 and key not in self.number_state:
                    value = _zero_dim(value)
                if isinstance(value, Tensor):
                    value = _loaded_tensor(key, value, p)
                elif isinstance(value, (np.ndarray, list)):
                    value = np.array(np.asarray(value), dtype=p.array.dtype, copy=True)
                    if value.shape != p.array.shape and key not in self.state_shapes_own:
                        raise ShapeError(
                            f"{name}.load_state_dict: state {key!r} of parameter {idx} has shape "
                            f"{value.shape}, the parameter has shape {p.array.shape}"
                        )
                p_state[key] = value
            state[p] = p_state
        self.param_groups = new_groups
        self.state = state
        self._workspace = {}
        optimizer_hooks.run_load_post_hooks(self)

    # ---- helpers for step() ------------------------------------------------------------------
    def _next_step(self, p, *buffers: str, **values) -> tuple[dict, int]:
        """``(state, t)``: ``p``'s state, made on its first update as ``{"step": 0}``, the
        named buffers (zeros like ``p``) and ``values``, with its step count moved on to t."""
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, **values}
            for name in buffers:
                state[name] = np.zeros_like(p.array)
        t = state["step"] = state["step"] + 1
        return state, t

    def _scratch(self, data: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
        """``count`` work arrays shaped like ``data``, reused across parameters and steps.

        One flat buffer per dtype, as long as the largest parameter of that dtype, so a step
        allocates nothing once the first step has run.
        """
        buffers = self._workspace.get(data.dtype)
        if buffers is None or len(buffers) < count or buffers[0].size < data.size:
            size = max(
                [data.size]
                + [
                    p.array.size
                    for group in self.param_groups
                    for p in group["params"]
                    if p.array.dtype == data.dtype
                ]
            )
            buffers = [np.empty(size, dtype=data.dtype) for _ in range(count)]
            self._workspace[data.dtype] = buffers
        n = data.size
        return tuple(b[:n].reshape(data.shape) for b in buffers[:count])

    def _grad_of(self, p: Tensor) -> np.ndarray | None:
        """``p.grad_array`` checked against the parameter: same shape, and cast to its dtype (a
        gradient assigned by hand as float64 must not turn float32 state into float64)."""
        grad = p.grad_array
        if grad is None:
            return None
        if grad.shape != p.array.shape:
            raise ShapeError(
                f"{type(self).__name__}: parameter of shape {p.array.shape} has a gradient of "
                f"shape {grad.shape}; gradients must have the parameter's shape"
            )
        if grad.dtype != p.array.dtype:
            grad = np.asarray(grad, dtype=p.array.dtype)
        return grad

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def parameter_names_by_group(optimizer, model, caller: str, role: str) -> list[list[str]]:
    """Each parameter group's parameters by their names in ``model.named_parameters()``, so the
    optimizer can be saved, or rebuilt over another copy of the model.

    Raises:
        ValueError: the optimizer updates a tensor that is not one of ``model``'s parameters
            (the message starts with ``caller`` and calls the model "the model ``role``").
    """
    names = {id(p): name for name, p in model.named_parameters()}
    groups = []
    for group in optimizer.param_groups:
        missing = [p for p in group["params"] if id(p) not in names]
        if missing:
            raise ValueError(
                f"{caller}: the optimizer updates a tensor of shape {tuple(missing[0].shape)} "
                f"that is not a parameter of the model {role}; build the optimizer over "
                f"model.parameters()"
            )
        groups.append([names[id(p)] for p in group["params"]])
    return groups


def effective_grad(
    data: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool, out: np.ndarray
) -> np.ndarray:
    """g = ±grad + weight_decay·θ, written to ``out`` when it differs from ``grad``.

    ``grad`` itself is never modified: it belongs to the user.
    """
    if weight_decay != 0:
        if not maximize and data.size >= MIN_SIZE:
            # ∇ + λ·θ rounded once where BLAS can (chainrule._blas), as grad.add(θ, alpha=λ)
            np.copyto(out, grad)
            if axpy(weight_decay, data, out):
                return out
        np.multiply(data, weight_decay, out=out)
        if maximize:
            np.subtract(out, grad, out=out)
        else:
            np.add(grad, out, out=out)
        return out
    if maximize:
        return np.negative(grad, out=out)
    return grad


def check_number(owner: str, key: str, value: Any) -> float:
    if hasattr(value, "shape") and not isinstance(value, numbers.Real):
        # PyTorch takes a 1-element tensor lr (for capturable / compiled steps) and reads it
        # at every step; taking its value once would ignore later in-place changes, silently
        raise TypeError(
            f"{owner}: a tensor-valued {key} is not supported (PyTorch takes one for "
            f"capturable, fused or compiled steps, which chainrule does not have); pass a "
            f"Python number, float(value), and set it in optimizer.param_groups to change it"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {key} must be a number, got {value!r}")
    return float(value)


def check_min(owner: str, key: str, value: Any, low: float = 0.0) -> None:
    """``value >= low``, or a ``ValueError`` such as ``SGD: lr must be >= 0, got -0.1``."""
    if not check_number(owner, key, value) >= low:
        raise ValueError(f"{owner}: {key} must be >= {low:g}, got {value}")


def check_unit_interval(owner: str, key: str, value: Any) -> None:
    """``0 <= value < 1`` (momentum-like coefficients)."""
    if not 0.0 <= check_number(owner, key, value) < 1.0:
        raise ValueError(f"{owner}: {key} must be in [0, 1), got {value}")


def check_betas(owner: str, betas: Any) -> None:
    """``betas`` a pair ``(β₁, β₂)``, each in [0, 1) (Adam and its variants)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    check_unit_interval(owner, "betas[0]", betas[0])
    check_unit_interval(owner, "betas[1]", betas[1])


class SavedByAnotherOptimizer(ValueError):
    """``load_state_dict`` got the state dict of another optimizer class: a saved group lacks
    the hyperparameter ``key`` (the first one missing)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _saved_group(optimizer, i: int, saved: dict, group: dict) -> dict:
    """Parameter group ``i`` of a state dict as a group of ``optimizer`` (without "params").

    A saved group without one of this optimizer's on/off options (``amsgrad``, ``maximize``,
    ... from an older PyTorch) takes the default, as PyTorch's ``__setstate__`` does; one
    without a numeric hyperparameter was saved by another optimizer, and is refused.
    """
    name = type(optimizer).__name__
    missing = [
        key
        for key, value in optimizer.defaults.items()
        if key not in saved and not isinstance(value, bool) and value is not None
    ]
    if missing:
        raise SavedByAnotherOptimizer(
            missing[0],
            f"{name}.load_state_dict: saved parameter group {i} has no "
            f"{', '.join(map(repr, missing))}, which {name} needs: the state dict was saved by "
            f"another optimizer (its group has {sorted(k for k in saved if k != 'params')}); "
            f"load it into the optimizer class that saved it",
        )
    new_group = {}
    for key, value in saved.items():
        if key == "params":
            continue
        if isinstance(value, list) and isinstance(group.get(key), tuple):
            value = tuple(value)  # JSON turns tuples (betas) into lists
        new_group[key] = value
    for key, value in optimizer.defaults.items():
        new_group.setdefault(key, value)
    lr = new_group.get("lr")
    if isinstance(lr, numbers.Real) and not isinstance(lr, bool) and lr < 0:
        # A scheduler can leave a negative lr that the optimizer steps with (OneCycleLR's
        # linear anneal at its last step, a LambdaLR), as PyTorch's; its checkpoint must load.
        optimizer._validate({**new_group, "lr": -lr})
    else:
        optimizer._validate(new_group)
    return new_group


def _loaded_tensor(key: str, value: Tensor, p: Tensor) -> Tensor:
    """A chainrule Tensor in a saved state (a custom optimizer's ``state["buf"] =
    cr.zeros_like(p)``) comes back as a Tensor, copied, with PyTorch's policy: floating values
    take the parameter's dtype (``step`` keeps its own); any shape, as PyTorch's."""
    array = np.array(value.array, copy=True)
    if array.dtype.kind == "f" and key != "step":
        array = array.astype(p.array.dtype, copy=False)
    return Tensor._make(array, False)


def _zero_dim(value: Any) -> Any:
    """A number as a 0-d array: the state of a 0-d parameter (Adam's exp_avg of a scalar
    weight) comes from PyTorch as a 0-d tensor, which ``_plain_state_value`` made a number."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.array(value)
    return value


def _plain_state_value(key: str, value: Any) -> Any:
    """A state value from another library (a torch tensor) as NumPy data: 0-d values become
    numbers (``step`` an int, as chainrule counts it), others arrays."""
    if isinstance(value, (np.ndarray, list, Tensor, int, float, bool)) or value is None:
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "__array__"):
        value = np.asarray(value)
        if value.ndim == 0:
            number = value.item()
            return int(number) if key == "step" and float(number).is_integer() else number
    return value
