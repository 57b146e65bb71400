"""A HiFi-GAN-style generator (weight-normed Conv1d, ConvTranspose1d, dilated residual blocks)
and a spectral-normed discriminator, written once against ``lib`` (torch or chainrule): one
GAN step's losses and gradients, then inference after removing the weight norms, as PyTorch's.
Both forms: the hook-based nn.utils functions and nn.utils.parametrizations."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def build(lib, form):
    nn = lib.nn
    utils = lib.nn.utils
    if form == "hooks":
        from_wn, sn, remove = utils.weight_norm, utils.spectral_norm, utils.remove_weight_norm
    else:
        from_wn, sn = utils.parametrizations.weight_norm, utils.parametrizations.spectral_norm
        remove = lambda m: utils.parametrize.remove_parametrizations(m, "weight")  # noqa: E731

    class ResBlock(nn.Module):
        def __init__(self, ch, k=3, dil=(1, 3, 5)):
            super().__init__()
            self.convs = nn.ModuleList(
                [from_wn(nn.Conv1d(ch, ch, k, dilation=d, padding=(k * d - d) // 2)) for d in dil]
            )

        def forward(self, x):
            for c in self.convs:
                x = x + c(nn.functional.leaky_relu(x, 0.1))
            return x

        def remove_weight_norm(self):
            for c in self.convs:
                remove(c)

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = from_wn(nn.Conv1d(4, 8, 7, 1, padding=3))
            self.up = from_wn(nn.ConvTranspose1d(8, 4, 8, 4, padding=2))
            self.res = ResBlock(4)
            self.post = from_wn(nn.Conv1d(4, 1, 7, 1, padding=3))

        def forward(self, x):
            x = self.pre(x)
            x = self.up(nn.functional.leaky_relu(x, 0.1))
            x = self.res(x)
            return lib.tanh(self.post(nn.functional.leaky_relu(x)))

    class Disc(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(
                [
                    sn(nn.Conv1d(1, 4, 5, 2, padding=2)),
                    sn(nn.Conv1d(4, 8, 5, 2, padding=2, groups=2)),
                ]
            )
            self.post = sn(nn.Conv1d(8, 1, 3, 1, padding=1))

        def forward(self, x):
            for c in self.convs:
                x = nn.functional.leaky_relu(c(x), 0.1)
            return self.post(x).flatten(1)

    return Gen().double(), Disc().double(), remove


def _gan_step(g, d, tensor, x, real):
    fake = g(tensor(x))
    loss_d = ((d(tensor(real)) - 1) ** 2).mean() + (d(fake.detach()) ** 2).mean()
    loss_d.backward()
    loss_g = ((d(fake) - 1) ** 2).mean()  # the discriminator's third call: power iteration
    loss_g.backward()
    return float(loss_d.item()), float(loss_g.item())


@pytest.mark.parametrize("form", ["hooks", "parametrizations"])
def test_gan_step_and_inference_match_torch(form):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        g_t, d_t, remove_t = build(torch, form)
        g_c, d_c, remove_c = build(cr, form)
    for ours, theirs in ((g_c, g_t), (d_c, d_t)):
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    x, real = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 1, 32))
    losses_t = _gan_step(g_t, d_t, torch.tensor, x, real)
    losses_c = _gan_step(g_c, d_c, lambda a: cr.tensor(a, dtype="float64"), x, real)
    np.testing.assert_allclose(losses_c, losses_t, rtol=1e-12)
    for ours, theirs in ((g_c, g_t), (d_c, d_t)):
        grads = {name: p.grad for name, p in ours.named_parameters()}
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(grads[name].numpy(), p.grad.numpy(), atol=1e-12)
    g_t.res.remove_weight_norm()
    g_c.res.remove_weight_norm()
    for name in ("pre", "up", "post"):
        remove_t(getattr(g_t, name))
        remove_c(getattr(g_c, name))
    assert list(g_c.state_dict()) == list(g_t.state_dict())
    g_t.eval()
    g_c.eval()
    np.testing.assert_allclose(
        g_c(cr.tensor(x, dtype="float64")).detach().numpy(),
        g_t(torch.tensor(x)).detach().numpy(),
        atol=1e-12,
    )
