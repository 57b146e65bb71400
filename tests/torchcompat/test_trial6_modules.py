"""Module utilities a training script uses, against PyTorch: load_state_dict(assign=True)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_load_state_dict_assign_takes_the_entries_dtype_as_torch(dtype):
    def run(lib):
        layer = lib.nn.Linear(2, 3)
        state = {
            "weight": lib.tensor(np.arange(6.0).reshape(3, 2), dtype=getattr(lib, dtype)),
            "bias": lib.zeros(3, dtype=getattr(lib, dtype)),
        }
        keys = layer.load_state_dict(state, assign=True)
        out = layer(lib.ones(1, 2, dtype=getattr(lib, dtype)))
        w = layer.weight
        return (
            str(w.dtype).replace("torch.", ""),
            w.requires_grad,
            type(w).__name__,
            out.tolist(),
            list(keys.missing_keys),
        )

    assert run(cr) == run(torch)


def test_load_state_dict_assign_keeps_strict_checks():
    layer = cr.nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="missing"):
        layer.load_state_dict({"weight": np.ones((3, 2))}, assign=True)
