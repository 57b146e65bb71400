"""What an explanation says where a reader could be misled: paths left out because a factor is
0, the cross-entropy formula for class-index targets when the loss is explained op by op, and
the update equation in LaTeX."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def relu_net_with_dead_units():
    """2 → 3 (ReLU) → 2 → loss; hidden unit 0 is on, unit 1 off, for the sample below."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    with cr.no_grad():
        model[0].weight.copy_(cr.tensor([[1.0, 0.5], [-1.0, -0.5], [0.3, 0.2]]))
        model[0].bias.copy_(cr.tensor([0.1, -0.1, 0.0]))
        model[2].weight.copy_(cr.tensor([[0.4, 0.7, -0.2], [0.6, -0.3, 0.5]]))
    return model


def test_paths_through_a_zero_factor_are_said_to_be_left_out():
    model = relu_net_with_dead_units()
    x, y = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    report = cr.explain(model, x, y, nn.MSELoss(), param=["0.weight[0, 1]", "0.weight[1, 0]"])
    live, dead = report.data["chains"]
    # unit 0 is on: two paths (one per output); unit 1 is off: relu' = 0 on both of its paths
    assert live["path_count"] == 2 and dead["path_count"] == 0 and dead["total"] == 0
    text = str(report)
    assert "A path through a local derivative of 0 (a ReLU that is off" in " ".join(text.split())
    assert "Every path from 0.weight[1, 0] to the loss crosses a local derivative of 0" in (
        " ".join(text.split())
    )
    assert "carries a nonzero factor" not in text  # said the opposite of what happens


def conv_net():
    cr.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))


def loss_factor_formulas(report):
    return {
        f["formula"]
        for chain in report.data["chains"]
        for path in chain["paths"]
        for f in path["factors"][:1]
    }


def test_cross_entropy_with_class_indices_reads_softmax_minus_onehot_op_by_op():
    # a CNN is explained op by op; its loss factor used to read
    # "((Σq)·softmax(z) − q  (softmax(z) − onehot(y)))/n, n = 2": the probability-target
    # form with the class-index one nested inside it
    images = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    report = cr.explain(
        conv_net(), images, np.array([1, 2]), nn.CrossEntropyLoss(), param="3.bias[0]"
    )
    assert loss_factor_formulas(report) == {"(softmax(z) − onehot(y))/n, n = 2"}
    one = cr.explain(conv_net(), images[0], np.array(1), nn.CrossEntropyLoss(), param="3.bias[0]")
    assert loss_factor_formulas(one) == {"softmax(z) − onehot(y)"}


def test_cross_entropy_with_class_weights_keeps_the_general_formula():
    # with weights q is not one-hot: the general form is the true one
    images = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    loss_fn = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0, 0.5]))
    report = cr.explain(conv_net(), images, np.array([1, 2]), loss_fn, param="3.bias[0]")
    (formula,) = loss_factor_formulas(report)
    # with weights q is w_y·onehot(y) and the mean divides by the targets' weights
    assert formula.startswith("(w_y·(softmax(z) − (1 − ε)·onehot(y) − ε/C))/Σw_y, Σw_y = ")


@pytest.mark.parametrize("example", ["seed", "mazur"])
def test_update_equation_latex_subscripts(example):
    from chainrule.explain import examples

    md = getattr(examples, example)().markdown()
    # "θ_new" was escaped to a literal underscore: θ_ new
    assert r"\theta _{\mathrm{new}} = \theta _{\mathrm{old}}" in md
    assert r"\_\text{ new }" not in md


def test_tensors_between_layers_are_named_after_their_layer_op_by_op():
    # a CNN's chain read ∂E/∂v8[0, 2] · ∂v8[0, 2]/∂v5[0, 1] · ...: node numbers, not layers
    images = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    report = cr.explain(
        conv_net(), images, np.array([1, 2]), nn.CrossEntropyLoss(), param="0.weight[0, 0, 1, 1]"
    )
    chain = report.data["chains"][0]
    symbols = [f["symbol"] for f in chain["paths"][0]["factors"]]
    assert symbols[0].startswith("∂E/∂3.out[")  # the Linear's output: the logits
    assert any("/∂1.out[" in s for s in symbols) and any("/∂0.out[" in s for s in symbols)
    names = [node["name"] for node in report.data["graph"]]
    assert {"0.out", "1.out", "2.out", "3.out"} <= set(names)
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


def test_layer_names_leave_layered_networks_alone_and_their_hooks_go():
    from chainrule.explain.numbers import twin

    model = relu_net_with_dead_units()
    report = cr.explain(model, np.array([1.0, 2.0]), np.array([0.5, -0.5]), nn.MSELoss())
    names = [node["name"] for node in report.data["graph"]]
    assert {"z1", "a1", "z2"} <= set(names) and not any(n.endswith(".out") for n in names)
    with twin.module_outputs(model) as outputs:
        out = model(cr.ones(1, 2))
    assert outputs[id(out)] == "2.out" and len(outputs) == 3
    model(cr.ones(1, 2))
    assert len(outputs) == 3  # the hooks are removed when the block ends


class ReluThenDropout(nn.Module):
    """A student's module: the activation is a function, Dropout a layer after it."""

    def __init__(self):
        super().__init__()
        self.fc1, self.norm = nn.Linear(3, 4), nn.LayerNorm(4)
        self.drop, self.skip, self.fc2 = nn.Dropout(0.5), nn.Identity(), nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.skip(self.drop(cr.nn.functional.relu(self.norm(self.fc1(x))))))


def test_a_layer_that_passes_its_input_through_does_not_rename_the_op_before_it():
    # Dropout (off in eval mode) and Identity return their input: the relu's output was
    # named 'drop.out' beside the op 'relu', as if the dropout layer computed a ReLU
    cr.manual_seed(0)
    report = cr.explain(
        ReluThenDropout(), np.array([0.5, -1.0, 2.0]), np.array(1), nn.CrossEntropyLoss()
    )
    relu = [node for node in report.data["graph"] if node["op"] == "relu"]
    assert len(relu) == 1 and relu[0]["name"] not in ("drop.out", "skip.out")
    names = [node["name"] for node in report.data["graph"]]
    assert "drop.out" not in names and "skip.out" not in names
    assert {"fc1.out", "norm.out", "fc2.out"} <= set(names)


def test_forward_table_op_by_op_calls_the_input_and_target_so():
    # the forward table of a CNN listed the image x (and the target t) as "constant"
    images = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    report = cr.explain(conv_net(), images, np.array([1, 2]), nn.CrossEntropyLoss())
    kinds = {n["name"]: n["op"] for n in report.data["forward"]["nodes"]}
    graph = {n["name"]: n["op"] for n in report.data["graph"]}
    assert kinds["x"] == graph["x"] == "input"
    assert kinds.get("t", "target") == "target"


@pytest.mark.parametrize(
    "loss_fn, y, count",
    [
        (nn.MSELoss(), np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]), "n = 6"),
        (nn.functional.mse_loss, np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]), "n = 6"),
        (nn.CrossEntropyLoss(), np.array([1, 0, 1]), "N = 3"),
        (nn.CrossEntropyLoss(weight=cr.tensor([1.0, 3.0])), np.array([1, 0, 1]), None),
        (nn.CrossEntropyLoss(ignore_index=0), np.array([1, 0, 1]), None),
        (nn.MSELoss(reduction="sum"), np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]), None),
    ],
)
def test_the_mean_says_what_it_divides_by(loss_fn, y, count):
    # MSE's "2·(o − t)/n" divides by every output of every sample (6 here, not 3 samples),
    # cross-entropy's "/N" by the samples; the report used to leave the reader to guess
    x = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 0.3]])
    report = cr.explain(relu_net_with_dead_units(), x, y, loss_fn, param="2.bias[1]")
    first = {path["factors"][0]["formula"] for path in report.data["chains"][0]["paths"]}
    text = str(report)
    if count is None:
        assert not any(", n = " in f or ", N = " in f for f in first)
        assert "   (n = " not in text and "   (N = " not in text
    else:
        assert all(f.endswith(f", {count}") for f in first)
        assert f"   ({count})" in text.split("Output error", 1)[1].split("Layer", 1)[0]
    chain = report.data["chains"][0]
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


def test_every_n_a_formula_divides_by_is_defined_even_when_it_is_1():
    # the seed example printed "E = −1/n · Σ […]" and "(o − t)/…/n" and never said what n was
    from chainrule.explain import examples

    text = " ".join(str(examples.seed()).split())
    assert "= 0.652507227 (n = 1) n = 1: the mean is taken over every output" in text
    assert "= -1.920349551 (n = 1)" in text  # ∂E/∂out_o1
    for line in examples.seed().text(width=None).splitlines():
        if "/n" in line and "∂/∂#" not in line:  # the graph's op formulas: defined above it
            assert "n = 1" in line, line


@pytest.mark.parametrize(
    "loss_fn, y, says",
    [
        (nn.BCEWithLogitsLoss(pos_weight=cr.tensor([3.0, 3.0])), [[1.0, 0.0]] * 3, "p·t·σ(−z)"),
        (nn.CrossEntropyLoss(weight=cr.tensor([1.0, 3.0])), [1, 0, 1], "(Σw_y = 7)"),
        (nn.CrossEntropyLoss(ignore_index=0), [1, 0, 1], "(Σw_y = 2)"),
        (nn.CrossEntropyLoss(label_smoothing=0.2), [1, 0, 1], "(1 − ε)·onehot(y) − ε/C"),
    ],
)
def test_a_weighted_loss_is_written_with_its_weights(loss_fn, y, says):
    # the output error of a network of layers printed the unweighted "(σ(o) − t)/n" or
    # "(softmax(o) − onehot(t))/N" beside the weighted value, so the numbers did not follow
    x = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 0.3]])
    report = cr.explain(relu_net_with_dead_units(), x, np.array(y), loss_fn, param="2.bias[1]")
    output_error = str(report).split("Output error", 1)[1].split("Layer", 1)[0]
    assert says in output_error
    assert "(σ(o) − t)/n" not in output_error and "onehot(t))/N" not in output_error
    chain = report.data["chains"][0]
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), nn.functional.cross_entropy])
def test_cross_entropy_with_class_probabilities_is_written_with_them(loss_fn):
    # probability targets were written with the index formulas "ln softmax(o_n)[t_n]" and
    # "(softmax(o) − onehot(t))/N", though t holds a probability per class
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    y = np.array([[0.2, 0.8], [0.6, 0.4]])
    report = cr.explain(relu_net_with_dead_units(), x, y, loss_fn, param="2.bias[1]")
    assert report.data["loss"]["formula"] == "E = −1/N · Σ_n Σ_c t_nc·ln softmax(o_n)_c, N = 2"
    output_error = str(report).split("Output error", 1)[1].split("Layer", 1)[0]
    assert "(softmax(o) − t)/N" in output_error and "onehot" not in output_error
    # the words' numbers: (softmax(o) − t)/N is the printed ∂E/∂output
    out = np.asarray(report.data["output"], dtype=float)
    soft = np.exp(out) / np.exp(out).sum(axis=1, keepdims=True)
    chain = report.data["chains"][0]
    assert abs(chain["total"] - ((soft - y) / 2)[:, 1].sum()) < 1e-12
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


@pytest.mark.parametrize(
    "loss_fn, y, says",
    [
        (nn.NLLLoss(), np.array([0, 1, 1]), "(−onehot(y))/n, n = 3"),
        (nn.KLDivLoss(reduction="batchmean"), np.full((3, 2), 0.5), "(−t)/n, n = 3"),
    ],
)
def test_nll_and_kl_div_explained_op_by_op_name_their_n(loss_fn, y, says):
    # their factor read "(−onehot(y))/n" with no n anywhere: the ops did not say what their
    # mean divides by
    model = nn.Sequential(*relu_net_with_dead_units(), nn.LogSoftmax(dim=1))
    x = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 0.3]])
    report = cr.explain(model, x, y, loss_fn, param="2.bias[1]")
    formulas = {f["formula"] for p in report.data["chains"][0]["paths"] for f in p["factors"]}
    assert says in formulas
    assert not [f for f in formulas if f.endswith("/n")]
    chain = report.data["chains"][0]
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


def test_a_softmax_factor_names_the_elements_it_couples():
    # ∂out_j/∂x_i of log_softmax, δ − softmax(x), reads the softmax of the input element x_i;
    # the note named x_j ("x = 4.out[0, 2]" beside ∂5.out[0, 2]/∂4.out[0, 0]), and softmax's
    # p·(δ − p) named neither of its two p's
    model = nn.Sequential(*relu_net_with_dead_units(), nn.LogSoftmax(dim=1))
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    report = cr.explain(model, x, np.full((2, 2), 0.5), nn.KLDivLoss(reduction="batchmean"))
    factors = [f for c in report.data["chains"] for p in c["paths"] for f in p["factors"]]
    log_softmax = [f for f in factors if f["formula"].startswith("δ − softmax(x)")]
    assert log_softmax
    for f in log_softmax:
        wrt = f["symbol"].split("/∂", 1)[1]  # ∂3.out[0, 1]/∂2.out[0, 0] → 2.out[0, 0]
        same = f["symbol"].split("/")[0].split("[")[1] == wrt.split("[")[1]
        assert f["refers_to"] == f"x = {wrt}, δ = {int(same)}", f
    model = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1))
    report = cr.explain(model, x[:1], np.array([[0.0, 1.0, 0.0]]), nn.MSELoss(), param="0.bias[0]")
    notes = [f["refers_to"] for p in report.data["chains"][0]["paths"] for f in p["factors"]]
    assert "= p_j·(δ − p_i): p_j = 1.out[0, 1], p_i = 1.out[0, 0], δ = 0" in notes
