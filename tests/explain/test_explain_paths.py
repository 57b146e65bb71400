"""The explained factors multiply (along each path) and add (over paths) to the engine's .grad,
for every parameter of many random networks: depths 1-4, widths 1-6, every activation, MSE,
BCE, BCE-with-logits and cross-entropy, float64."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import explain

ACTIVATIONS = [
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    lambda: nn.LeakyReLU(0.1),
    nn.ELU,
    nn.GELU,
    lambda: nn.GELU(approximate="tanh"),
    nn.Softplus,
    nn.SiLU,
    nn.LogSigmoid,
    nn.Identity,
]
LOSSES = ["mse", "bce", "bce_logits", "ce"]


def random_case(seed: int, batch: int = 1):
    rng = np.random.default_rng(seed)
    cr.manual_seed(seed)
    activation = ACTIVATIONS[seed % len(ACTIVATIONS)]
    loss = LOSSES[(seed // len(ACTIVATIONS)) % len(LOSSES)]
    depth = 2 + seed % 3 if seed % 7 else 1  # depths 1-4, mostly with hidden activations
    widths = [int(w) for w in rng.integers(1, 7, size=depth + 1)]
    if loss == "ce":
        widths[-1] = max(widths[-1], 2)
    if loss == "bce":
        widths[-1] = 1
    layers = []
    for i in range(depth):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < depth - 1:
            layers.append(activation())
    if loss == "bce":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    x = rng.normal(size=(batch, widths[0]))
    if loss == "ce":
        y, loss_fn = rng.integers(0, widths[-1], size=batch), nn.CrossEntropyLoss()
    elif loss in ("bce", "bce_logits"):
        y = rng.integers(0, 2, size=(batch, widths[-1])).astype(float)
        loss_fn = nn.BCELoss() if loss == "bce" else nn.BCEWithLogitsLoss()
    else:
        y, loss_fn = rng.normal(size=(batch, widths[-1])), nn.MSELoss()
    return model, x, y, loss_fn


def engine_grads(model, x, y, loss_fn) -> dict:
    """The engine's own gradients, float64, without the explainer."""
    twin = copy.deepcopy(model).double()
    loss = loss_fn(twin(cr.tensor(x, dtype="float64")), y)
    loss.backward()
    return {name: p.grad_array for name, p in twin.named_parameters()}


def element_names(model) -> list:
    names = []
    for name, p in model.named_parameters():
        for idx in np.ndindex(*p.shape):
            names.append(f"{name}[{', '.join(map(str, idx))}]")
    return names


# every activation with every loss, twice (88 networks)
@pytest.mark.parametrize("seed", range(2 * len(ACTIVATIONS) * len(LOSSES)))
def test_sum_over_paths_of_factor_products_is_the_engine_gradient(seed):
    model, x, y, loss_fn = random_case(seed)
    names = element_names(model)
    report = explain(model, x, y, loss_fn, param=names[:: max(1, len(names) // 12)])
    graph = report.graph
    expected = engine_grads(model, x, y, loss_fn)
    # 1. every parameter element: enumerate every path, multiply its factors, add the products
    by_name = {
        report._names.param_names[id(t)]: t
        for t in graph.tensors
        if id(t) in report._names.param_names
    }
    checked = 0
    for name, t in by_name.items():
        for i in range(t.array.size):
            total = sum(np.prod([s[4] for s in path]) for path in graph.paths(t, i))
            want = expected[name].reshape(-1)[i]
            assert abs(total - want) <= 1e-12 * max(1.0, abs(want)), (name, i, total, want)
            checked += 1
    assert checked == sum(p.array.size for _, p in model.named_parameters())
    # 2. the chains the report prints: their factors' products add up to the engine's .grad
    for chain in report.data["chains"]:
        name, _, index = chain["param"].partition("[")
        want = expected[name].reshape(-1)[
            np.ravel_multi_index(
                tuple(int(v) for v in index.rstrip("]").split(",")), expected[name].shape
            )
        ]
        products = [np.prod([f["value"] for f in path["factors"]]) for path in chain["paths"]]
        assert all(
            abs(p["product"] - q) <= 1e-15 * max(1.0, abs(q))
            for p, q in zip(chain["paths"], products)
        )
        assert abs(sum(products) - want) <= 1e-12 * max(1.0, abs(want))
        assert chain["engine_grad"] == pytest.approx(want, abs=1e-12, rel=1e-12)
    # 3. the deltas of the backward pass are the engine's ∂E/∂z
    for check in report.data["checks"]:
        assert check["max_abs_diff"] <= 1e-12, check


@pytest.mark.parametrize("seed", [3, 7, 12, 17])
def test_batch_per_sample_terms_and_their_mean(seed):
    model, x, y, loss_fn = random_case(seed, batch=3)
    names = element_names(model)
    report = explain(model, x, y, loss_fn, param=[names[0], names[-1]])
    expected = engine_grads(model, x, y, loss_fn)
    for chain in report.data["chains"]:
        per = chain["per_sample"]
        assert len(per["contributions"]) == 3
        assert sum(per["contributions"]) == pytest.approx(chain["total"], abs=1e-12)
        # each sample alone, through the engine; the batch gradient is their mean
        assert per["combined_by"] == "mean"
        assert np.mean(per["engine_per_sample"]) == pytest.approx(chain["total"], abs=1e-12)
        name, _, index = chain["param"].partition("[")
        idx = tuple(int(v) for v in index.rstrip("]").split(","))
        assert chain["total"] == pytest.approx(expected[name][idx], abs=1e-12)
    for check in report.data["checks"]:
        assert check["max_abs_diff"] <= 1e-12, check


def test_path_sums_equal_engine_gradient_of_every_node():
    model, x, y, loss_fn = random_case(5, batch=2)
    report = explain(model, x, y, loss_fn)
    graph = report.graph
    sums = graph.path_sums()
    for t in graph.tensors:
        if t.grad_array is not None:
            np.testing.assert_allclose(sums[id(t)], t.grad_array, rtol=1e-12, atol=1e-12)
