"""The fast paths that index through flat views (cross-entropy of class indices, softmax and
log-softmax, NLL) give PyTorch's numbers for inputs of any memory layout: transposed logits,
and upstream gradients that are broadcast views."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["CrossEntropyLoss", "NLLLoss"])
def test_class_losses_on_transposed_logits_match_torch(loss, reduction):
    rng = np.random.default_rng(0)
    zt = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.integers(0, 10, 6)
    x = cr.tensor(zt, requires_grad=True)
    out = getattr(cr.nn, loss)(reduction=reduction)(x.T, y)
    (out.sum() if reduction == "none" else out).backward()
    tx = torch.tensor(zt, requires_grad=True)
    ref = getattr(torch.nn, loss)(reduction=reduction)(tx.T, torch.tensor(y))
    (ref.sum() if reduction == "none" else ref).backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(x.grad_array, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family_on_transposed_input_matches_torch(name, axis):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 7)).astype(np.float32)
    w = rng.standard_normal((7, 5)).astype(np.float32)
    x = cr.tensor(a, requires_grad=True)
    out = getattr(cr.functional, name)(x.T, axis=axis)
    (out * cr.tensor(w)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ref = getattr(torch.nn.functional, name)(tx.T, dim=axis)
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad_array, tx.grad.numpy(), rtol=1e-4, atol=1e-6)
