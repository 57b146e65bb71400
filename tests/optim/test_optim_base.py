"""The Optimizer base class against torch.optim.Optimizer: a custom optimizer's state, the
parameters it accepts."""

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")


def _heavy_ball(base):
    """The same custom optimizer written on either library's base class, as users write it."""

    class HeavyBall(base):
        def __init__(self, params, lr=0.1, momentum=0.5):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]  # a new dict the first time: defaultdict(dict)
                    if "velocity" not in state:
                        state["velocity"] = p.grad * 0
                        state["steps"] = 0
                    state["velocity"] = group["momentum"] * state["velocity"] + p.grad
                    state["steps"] += 1
                    p.data -= group["lr"] * state["velocity"]

    return HeavyBall


def test_state_is_a_defaultdict_so_custom_optimizers_work_as_in_torch():
    init = [np.array([1.0, -2.0]), np.array([0.5])]
    runs = []
    for lib, base in ((cr, optim.Optimizer), (torch, torch.optim.Optimizer)):
        params = [lib.tensor(v.copy(), dtype=lib.float64, requires_grad=True) for v in init]
        opt = _heavy_ball(base)(params)
        assert isinstance(opt.state, collections.defaultdict)
        for t in range(4):
            opt.zero_grad()
            loss = (params[0] ** 2).sum() + (params[1] ** 2).sum() * (t % 2)
            loss.backward()
            opt.step()
        saved = opt.state_dict()
        runs.append(([p.tolist() for p in params], sorted(saved["state"]), saved["state"][1]))
    (ours, our_keys, our_p1), (theirs, their_keys, their_p1) = runs
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-15)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-15)
    assert our_keys == their_keys == [0, 1] and our_p1["steps"] == their_p1["steps"] == 4


def test_built_in_steps_and_state_dict_create_no_empty_state():
    for name, kwargs in [("SGD", {"momentum": 0.9}), ("Adam", {}), ("RMSprop", {})]:
        params = [cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0], requires_grad=True)]
        opt = getattr(optim, name)(params, lr=0.1, **kwargs)
        (params[0] ** 2).sum().backward()
        opt.step()
        assert list(opt.state) == [params[0]]
        saved = opt.state_dict()
        assert list(saved["state"]) == [0]
        fresh = getattr(optim, name)(params, lr=0.1, **kwargs)
        fresh.load_state_dict(saved)
        assert isinstance(fresh.state, collections.defaultdict) and list(fresh.state) == [params[0]]
        assert fresh.state[params[1]] == {}  # the default, as in PyTorch


@pytest.mark.parametrize(
    "name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax", "Adadelta"]
)
def test_named_parameters_are_taken_and_their_names_kept_as_torch(name):
    ours, theirs = cr.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    groups = {}
    for lib_optim, model in ((optim, ours), (torch.optim, theirs)):
        opt = getattr(lib_optim, name)(model.named_parameters(), lr=0.1)
        two = getattr(lib_optim, name)(
            [{"params": [next(model.named_parameters())]},
             {"params": list(model.named_parameters())[1:], "lr": 0.5}], lr=0.1)  # fmt: skip
        groups[lib_optim] = (
            opt.param_groups[0]["param_names"],
            [g["param_names"] for g in two.param_groups],
            opt.state_dict()["param_groups"][0]["param_names"],
        )
        assert all(p is q for p, q in zip(opt.param_groups[0]["params"], model.parameters()))
    assert (
        groups[optim]
        == groups[torch.optim]
        == (["weight", "bias"], [["weight"], ["bias"]], ["weight", "bias"])
    )


def test_named_and_unnamed_parameters_do_not_mix_as_in_torch():
    model = cr.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="some names are missing"):
        optim.SGD([("weight", model.weight), model.bias], lr=0.1)
    opt = optim.SGD([{"params": [("weight", model.weight)]}], lr=0.1)
    with pytest.raises(ValueError, match="cannot add a group without names"):
        opt.add_param_group({"params": [model.bias]})


def test_named_optimizer_steps_and_resumes_as_an_unnamed_one():
    init = [np.array([[1.0, -2.0]]), np.array([0.5])]
    results = []
    for named in (True, False):
        model = cr.nn.Linear(2, 1)
        for p, v in zip(model.parameters(), init):
            p.data = cr.tensor(v, dtype="float64")
        params = model.named_parameters() if named else model.parameters()
        opt = optim.Adam(params, lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (model(cr.tensor([[1.0, 2.0]], dtype="float64")) ** 2).sum().backward()
            opt.step()
        fresh = optim.Adam(model.named_parameters() if named else model.parameters(), lr=0.1)
        fresh.load_state_dict(opt.state_dict())
        results.append([p.tolist() for p in model.parameters()])
    assert results[0] == results[1]


def test_optimizers_chainrule_lacks_raise_not_supported_naming_what_exists():
    missing = [n for n in dir(torch.optim) if n[0].isupper() and not hasattr(optim, n)]
    assert "SparseAdam" in missing
    assert not {"NAdam", "RAdam", "Adamax", "Adadelta", "LBFGS", "Rprop", "ASGD"} & set(missing)
    for name in missing:
        with pytest.raises(cr.NotSupportedError, match=f"torch.optim.{name} .*nearest: .*Adam"):
            getattr(optim, name)
    assert not hasattr(optim, "SparseAdam") and getattr(optim, "SparseAdam", None) is None
    with pytest.raises(AttributeError, match="no attribute 'Sgd'"):
        optim.Sgd  # noqa: B018
