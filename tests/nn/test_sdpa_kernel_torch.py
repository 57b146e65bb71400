"""``torch.nn.attention.sdpa_kernel`` and ``SDPBackend``: a context that allows a kernel the
CPU has (MATH, FLASH_ATTENTION) computes as usual; one that allows none raises PyTorch's
"No viable backend" error, in ``scaled_dot_product_attention`` and wherever PyTorch calls it."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend as TorchBackend
from torch.nn.attention import sdpa_kernel as torch_sdpa_kernel

import chainrule as cr
from chainrule import nn
from chainrule.nn.attention import SDPBackend, sdpa_kernel

F = cr.nn.functional


def _raises(sdpa, kernel, backend, args, kwargs) -> bool:
    try:
        with kernel(backend):
            sdpa(*args, **kwargs)
    except RuntimeError:  # "No viable backend" or "No available kernel" (PyTorch's flash)
        return True
    return False


# (query, key, value shapes, attn_mask shape or None, dropout_p): the CPU flash kernel's limits
CASES = [
    ((2, 3, 4), (2, 3, 4), (2, 3, 4), None, 0.0),  # 3-D: math only
    ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), None, 0.0),
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), None, 0.5),  # dropout: math only
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 5), None, 0.0),  # value of another size
    ((2, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), None, 0.0),  # broadcast batch
    ((2, 4, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), None, 0.0),  # heads differ, no gqa
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), (3, 3), 0.0),
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), (2, 3, 3), 0.0),  # 3-D mask
    ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 4), (1, 1, 3, 3), 0.0),
]


@pytest.mark.parametrize("name", [b.name for b in TorchBackend.__members__.values()])
@pytest.mark.parametrize("case", CASES)
def test_each_backend_runs_or_raises_as_torch_on_the_cpu(name, case):
    *shapes, mask_shape, dropout_p = case
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=shape) for shape in shapes]
    mask = None if mask_shape is None else np.ones(mask_shape, bool)
    ours = [cr.tensor(a, dtype="float64") for a in arrays]
    theirs = [torch.tensor(a) for a in arrays]
    kwargs = {"dropout_p": dropout_p}
    expected = _raises(
        torch.nn.functional.scaled_dot_product_attention, torch_sdpa_kernel,
        getattr(TorchBackend, name), theirs,
        dict(kwargs, attn_mask=None if mask is None else torch.tensor(mask)),
    )  # fmt: skip
    got = _raises(
        F.scaled_dot_product_attention, sdpa_kernel, getattr(SDPBackend, name), ours,
        dict(kwargs, attn_mask=None if mask is None else cr.tensor(mask)),
    )  # fmt: skip
    assert got == expected
    assert int(getattr(SDPBackend, name)) == int(getattr(TorchBackend, name))


def test_a_kernel_that_runs_gives_the_usual_result():
    q = cr.tensor(np.random.default_rng(1).normal(size=(1, 2, 3, 4)), dtype="float64")
    expected = F.scaled_dot_product_attention(q, q, q, is_causal=True).numpy()
    for backend in (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION):
        with sdpa_kernel(backend):
            out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
        np.testing.assert_array_equal(out.numpy(), expected)


def test_a_list_with_one_cpu_kernel_runs_and_the_old_set_comes_back():
    q = cr.ones(1, 2, 4)
    with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH], set_priority=True):
        assert F.scaled_dot_product_attention(q, q, q).shape == (1, 2, 4)
    with sdpa_kernel([]):
        with pytest.raises(RuntimeError, match="No viable backend"):
            F.scaled_dot_product_attention(q, q, q)
    assert F.scaled_dot_product_attention(q, q, q).shape == (1, 2, 4)  # restored


def test_multihead_attention_needs_a_kernel_only_without_weights_as_torch():
    attention = nn.MultiheadAttention(4, 2)
    x = cr.randn(3, 2, 4)
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):
        assert attention(x, x, x)[0].shape == (3, 2, 4)  # need_weights=True: no SDPA in PyTorch
        with pytest.raises(RuntimeError, match="No viable backend"):
            attention(x, x, x, need_weights=False)
        with pytest.raises(RuntimeError, match="No viable backend"):
            nn.TransformerEncoderLayer(4, 2, 8)(x)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # 4-D inside, so flash takes it, in eval
        layer = nn.TransformerEncoderLayer(4, 2, 8).eval()
        assert layer(x, src_mask=nn.Transformer.generate_square_subsequent_mask(3)).shape == x.shape
        with pytest.raises(RuntimeError, match="No viable backend"):
            layer.train()(x)  # dropout 0.1 in training: PyTorch's CPU flash kernel refuses


def test_a_backend_that_is_not_an_sdpbackend_is_refused():
    with pytest.raises(AssertionError, match="SDPBackend"):
        with sdpa_kernel("math"):
            pass
    with pytest.raises(TypeError, match="SDPBackend"):
        with sdpa_kernel((SDPBackend.MATH,)):
            pass


def test_torch_nn_attention_imports_resolve_to_chainrule_under_install_as_torch():
    program = (
        "import chainrule, chainrule.nn.attention as ours\n"
        "chainrule.install_as_torch()\n"
        "from torch.nn.attention import SDPBackend, sdpa_kernel\n"
        "import torch.nn.attention\n"
        "assert torch.nn.attention is ours and SDPBackend is ours.SDPBackend\n"
        "q = chainrule.ones(1, 1, 2, 4)\n"
        "with sdpa_kernel(SDPBackend.FLASH_ATTENTION):\n"
        "    torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)
