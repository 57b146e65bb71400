"""Loading optimizer state whose arrays are not shaped like their parameter (Adafactor's
row and column factors, LBFGS's flat history): the base class checks every array against its
parameter's shape, so these entries are set aside, and converted by the optimizer itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.optim.optimizer import Optimizer


def load_special_state(
    optimizer,
    state_dict: dict[str, Any],
    keys: tuple[str, ...] | None,
    convert: Callable[[Any, str, Any], Any],
) -> None:
    """``optimizer.load_state_dict(state_dict)`` with the state entries named in ``keys``
    (every entry, for ``None``) given to ``convert(param, key, value)`` instead of the base
    class's cast-and-shape check; values arrive as saved (torch tensors included).
    ``state_dict`` itself is not modified."""
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
        Optimizer.load_state_dict(optimizer, state_dict)  # (raises the base class's error)
        return
    plain, special = {}, {}
    for idx, saved in state_dict["state"].items():
        plain[idx] = {k: v for k, v in saved.items() if keys is not None and k not in keys}
        special[idx] = {k: v for k, v in saved.items() if keys is None or k in keys}
    Optimizer.load_state_dict(optimizer, {**state_dict, "state": plain})

    by_index = {}
    for group, saved in zip(optimizer.param_groups, state_dict["param_groups"]):
        for idx, p in zip(saved["params"], group["params"]):
            by_index[int(idx)] = p
    for idx, entries in special.items():
        p = by_index[int(idx)]
        state = optimizer.state[p]
        for key, value in entries.items():
            state[key] = convert(p, key, value)
        # the saved order of the keys, as the base class keeps it
        optimizer.state[p] = {k: state[k] for k in state_dict["state"][idx] if k in state}
