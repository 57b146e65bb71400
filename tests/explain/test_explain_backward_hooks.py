"""explain() on a model with module backward hooks reads as on the same model without them: the
hooks' identity ops (local derivative 1) are no activations, and the hooks do not fire; the
report says so, since a hook that changes a gradient makes training's .grad differ."""

import warnings

import chainrule as cr
from chainrule import nn


def _model(hooked: bool, calls: list):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    if hooked:
        for module in (*model, model):
            module.register_full_backward_hook(lambda m, gi, go: calls.append(type(m).__name__))
            module.register_full_backward_pre_hook(lambda m, go: calls.append("pre"))
    return model


def test_explanation_of_a_hooked_model_equals_the_unhooked_one():
    calls: list = []
    args = ([0.5, -1.0], [0.25], nn.MSELoss())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hook firing on the outputs only would warn
        plain = cr.explain(_model(False, calls), *args, param=["0.weight[1, 0]", "2.bias[0]"])
        hooked_model = _model(True, calls)
        hooked = cr.explain(hooked_model, *args, param=["0.weight[1, 0]", "2.bias[0]"])
    note = hooked.data["notes"]
    assert note == [
        "The model's backward hooks (on the model itself, on 0, on 1, on 2) did not run: the "
        "gradients below are the chain rule of the ops alone, so where such a hook changes a "
        "gradient in training, the .grad of training differs from these numbers."
    ]
    assert {k: v for k, v in hooked.data.items() if k != "notes"} == plain.data
    assert note[0] in hooked.text(width=None).replace("\n", " ")  # said at the top
    assert "BackwardHookFunction" not in str(hooked) and "(Tanh)" in str(hooked)
    assert hooked.data["chains"] == plain.data["chains"]
    assert hooked.data["loss"] == plain.data["loss"]
    assert calls == []  # explain ran on a copy without the backward hooks
    # the model keeps its hooks
    hooked_model(cr.tensor([[0.5, -1.0]], requires_grad=True)).sum().backward()
    assert "Linear" in calls and "pre" in calls
