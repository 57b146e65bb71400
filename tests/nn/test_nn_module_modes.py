"""train()/eval() through children's own train(), to() in PyTorch's argument forms, cpu(),
get_parameter and get_buffer, each against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _frozen_norm_net(lib):
    class FrozenNorm(lib.nn.Module):
        """Keeps its BatchNorm in eval mode whatever the parent says (a common fine-tuning
        idiom)."""

        def __init__(self):
            super().__init__()
            self.bn = lib.nn.BatchNorm1d(2)
            self.fc = lib.nn.Linear(2, 2)
            self.calls = []

        def train(self, mode=True):
            self.calls.append(mode)
            super().train(mode)
            self.bn.eval()
            return self

    return lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(FrozenNorm()))


def _modes(model) -> list:
    return [(name, m.training) for name, m in model.named_modules()]


def test_train_and_eval_call_each_childs_own_train():
    ours, theirs = _frozen_norm_net(cr), _frozen_norm_net(torch)
    for switch in ("train", "eval", "train"):
        assert getattr(ours, switch)() is ours
        getattr(theirs, switch)()
        assert _modes(ours) == _modes(theirs)
    assert ours[1][0].calls == theirs[1][0].calls == [True, False, True]
    assert not ours[1][0].bn.training and ours[1][0].fc.training
    with pytest.raises(TypeError, match="bool"):
        ours.train("yes")


def _dtypes(model) -> list:
    return [str(t.dtype).replace("torch.", "") for t in (*model.parameters(), *model.buffers())]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, m: m.to(lib.device("cpu")),
        lambda lib, m: m.to("cpu"),
        lambda lib, m: m.to(device="cpu"),
        lambda lib, m: m.to(dtype=lib.float64),
        lambda lib, m: m.to(lib.float64),
        lambda lib, m: m.to("cpu", lib.float64),
        lambda lib, m: m.to(lib.device("cpu"), dtype=lib.float64),
        lambda lib, m: m.to(device="cpu", dtype=lib.float64, non_blocking=True),
        lambda lib, m: m.to(lib.zeros(2, dtype=lib.float64)),
        lambda lib, m: m.cpu(),
        lambda lib, m: m.double().to(dtype=lib.float32),
    ],
)
def test_to_takes_pytorchs_argument_forms(call):
    ours = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert call(cr, ours) is ours
    call(torch, theirs)
    assert _dtypes(ours) == _dtypes(theirs)


def test_to_refuses_other_devices_and_unsupported_dtypes():
    model = cr.nn.Linear(2, 2)
    for device in ("cuda", "cuda:0", "mps", "meta"):
        with pytest.raises(NotImplementedError, match=device):
            model.to(device)
        with pytest.raises(NotImplementedError, match=device):
            model.to(device=device, dtype=cr.float64)
    for args, kwargs in [((), {"dtype": cr.int64}), ((cr.zeros(2, dtype=cr.int64),), {})]:
        with pytest.raises(cr.DTypeError, match="int64"):  # a TypeError, as PyTorch's
            model.to(*args, **kwargs)
        with pytest.raises(TypeError, match="int64"):
            torch.nn.Linear(2, 2).to(
                *(torch.zeros(2, dtype=torch.int64) for _ in args),
                **{k: torch.int64 for k in kwargs},
            )
    with pytest.raises(TypeError):
        model.to("cpu", cr.float64, "extra")
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.to(dtyp=cr.float64)
    assert model.weight.dtype == np.float32


def _lookup_net(lib):
    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    net[0].plain = 3
    return net


@pytest.mark.parametrize(
    "target",
    ["0.weight", "1.running_mean", "1.num_batches_tracked", "0.bias", "1.weight"],
)
def test_get_parameter_and_get_buffer_find_what_pytorch_finds(target):
    ours, theirs = _lookup_net(cr), _lookup_net(torch)
    for method in ("get_parameter", "get_buffer"):
        try:
            expected = getattr(theirs, method)(target)
        except AttributeError as err:
            with pytest.raises(AttributeError) as got:
                getattr(ours, method)(target)
            assert str(got.value) == str(err)
        else:
            found = getattr(ours, method)(target)
            assert found is dict(ours.named_parameters(), **dict(ours.named_buffers()))[target]
            assert tuple(found.shape) == tuple(expected.shape)


@pytest.mark.parametrize("target", ["2.weight", "0.plain", "0.nope", "0", "0.weight.x", ""])
def test_get_parameter_and_get_buffer_raise_pytorchs_errors(target):
    ours, theirs = _lookup_net(cr), _lookup_net(torch)
    for method in ("get_parameter", "get_buffer"):
        with pytest.raises(Exception) as expected:
            getattr(theirs, method)(target)
        with pytest.raises(type(expected.value)) as got:
            getattr(ours, method)(target)
        assert str(got.value) == str(expected.value)
