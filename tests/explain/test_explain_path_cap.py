"""Deep and wide networks: a parameter's paths are counted and summed by dynamic programming,
only the ones with the largest |product| are listed, and the totals still equal the engine's
.grad. The counts, the ranking and the remainder are checked against brute-force enumeration."""

import copy
import json
import math
import re
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import explain


def mlp(sizes, activation=nn.Tanh, seed=0):
    cr.manual_seed(seed)
    layers = []
    for n, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if n < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def engine_grad(model, x, y, loss_fn, name, index):
    """The engine's gradient of one parameter element, float64, without the explainer."""
    twin = copy.deepcopy(model).double()
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    if x.ndim == 1:  # one sample: explain() adds the batch axis to both
        x, y = x[None], y[None]
    loss = loss_fn(twin(cr.tensor(x, dtype="float64")), y)
    loss.backward()
    return float(dict(twin.named_parameters())[name].grad_array[index])


def brute_force(report, chain):
    """Every path of the chain's parameter, enumerated one by one: their products (with the
    loss's own factor ∂E/∂output at the end), in enumeration order."""
    graph, naming = report.graph, report._names
    name, _, index = chain["param"].partition("[")
    t = next(p for p in graph.tensors if naming.param_names.get(id(p)) == name)
    i = int(np.ravel_multi_index(tuple(int(v) for v in index.rstrip("]").split(",")), t.shape))
    stop = naming.layers[-1].a  # the network's output; the loss's own factor comes last
    d_out = stop.grad_array.reshape(-1)
    return [
        math.prod(s[4] for s in steps) * d_out[steps[-1][3]]
        for steps in graph.paths(t, i, stop=stop, limit=10**6)
    ]


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(b))


def test_deep_tanh_network_is_fast_and_lists_at_most_the_cap():
    model = mlp([16] * 7 + [1])  # 6 hidden layers of 16 tanh neurons
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=16), rng.normal(size=1)
    explain(model, x, y, nn.MSELoss(), param="0.weight[0, 0]")  # warm up imports
    start = time.perf_counter()
    report = explain(model, x, y, nn.MSELoss(), param="0.weight[0, 0]", max_paths=32)
    elapsed = time.perf_counter() - start
    # a bound against path enumeration blowing up (22 s before the cap), not a speed target:
    # generous, so a loaded CI machine does not fail it
    assert elapsed < 8.0, f"explain took {elapsed:.2f} s"  # ~0.05 s; it took 22 s enumerating
    chain = report.data["chains"][0]
    # one first-layer weight reaches z1[0], then any of 16 neurons in each of 5 more layers
    assert chain["path_count"] == 16**5
    assert len(chain["paths"]) == 32
    assert chain["paths_not_listed"] == 16**5 - 32
    listed = sum(p["product"] for p in chain["paths"])
    want = engine_grad(model, x, y, nn.MSELoss(), "0.weight", (0, 0))
    assert want != 0
    assert close(listed + chain["rest_total"], want)
    assert close(chain["total"], want)
    # largest first, and each listed product is the product of its printed factors
    sizes = [abs(p["product"]) for p in chain["paths"]]
    assert sizes == sorted(sizes, reverse=True)
    for path in chain["paths"]:
        assert len(path["factors"]) == 14  # ∂E/∂z7, then W and tanh' per layer, then x
        assert close(math.prod(f["value"] for f in path["factors"]), path["product"], 1e-15)
    # the JSON carries the counts
    data = json.loads(report.json())["chains"][0]
    assert (data["path_count"], data["paths_not_listed"]) == (16**5, 16**5 - 32)
    assert data["rest_total"] == pytest.approx(chain["rest_total"], abs=0, rel=1e-15)
    text = str(report)
    assert "1,048,576 paths lead from 0.weight[0, 0] to the loss" in text
    assert "the other 1,048,571 paths:" in text
    assert len(re.findall(r"path \d+:", text)) == 5
    # the default cap
    default = explain(model, x, y, nn.MSELoss(), param="0.weight[0, 0]").data["chains"][0]
    assert len(default["paths"]) == 256
    assert close(default["total"], want)


@pytest.mark.parametrize(
    "sizes, activation, loss",
    [
        ([3, 4, 5, 3, 2], nn.Tanh, "mse"),
        ([4, 5, 5, 4, 3], nn.ReLU, "ce"),
        ([2, 3, 6, 1], nn.Sigmoid, "bce_logits"),
    ],
)
def test_counts_ranking_and_rest_match_brute_force(sizes, activation, loss):
    model = mlp(sizes, activation, seed=sum(sizes))
    rng = np.random.default_rng(len(sizes))
    x = rng.normal(size=(1, sizes[0]))
    if loss == "ce":
        y, loss_fn = np.array([1]), nn.CrossEntropyLoss()
    elif loss == "bce_logits":
        y, loss_fn = np.array([[1.0]]), nn.BCEWithLogitsLoss()
    else:
        y, loss_fn = rng.normal(size=(1, sizes[-1])), nn.MSELoss()
    names = ["0.weight[0, 0]", "0.bias[1]", "2.weight[1, 2]"]
    report = explain(model, x, y, loss_fn, param=names, max_paths=4)
    for name, chain in zip(names, report.data["chains"]):
        products = brute_force(report, chain)
        assert chain["path_count"] == len(products)
        listed = [p["product"] for p in chain["paths"]]
        assert len(listed) == min(4, len(products))
        if len(products) > 4:
            # the listed ones are the largest, and the rest is the sum of all the others
            ranked = sorted(products, key=abs, reverse=True)
            assert [abs(p) for p in listed] == pytest.approx([abs(p) for p in ranked[:4]], 1e-15)
            assert chain["paths_not_listed"] == len(products) - 4
            assert close(chain["rest_total"], sum(products) - sum(listed))
        base, _, index = name.partition("[")
        idx = tuple(int(v) for v in index.rstrip("]").split(","))
        want = engine_grad(model, x, y, loss_fn, base, idx)
        assert close(sum(listed) + chain["rest_total"], want)
        assert close(sum(products), want)


def test_small_networks_still_list_every_path():
    model = mlp([2, 3, 3, 2])
    x, y = np.array([0.5, -0.3]), np.array([0.1, 0.9])
    report = explain(model, x, y, nn.MSELoss(), param="0.weight[0, 0]", max_paths=6)
    chain = report.data["chains"][0]
    assert chain["path_count"] == len(chain["paths"]) == 6
    assert (chain["paths_not_listed"], chain["rest_total"]) == (0, 0.0)
    assert "too many to list" not in str(report)


def test_batch_per_sample_shares_with_capped_paths():
    model = mlp([3, 5, 5, 2])
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    report = explain(model, x, y, nn.MSELoss(), param="0.weight[1, 2]", max_paths=4)
    chain = report.data["chains"][0]
    assert chain["path_count"] == 3 * 5 * 2  # each sample: z1 → 5 neurons → 2 outputs
    assert len(chain["paths"]) == 4
    per = chain["per_sample"]
    assert sum(per["contributions"]) == pytest.approx(chain["total"], abs=1e-12)
    # each sample's share is the gradient of that sample alone, through the engine
    assert per["combined_by"] == "mean"
    np.testing.assert_allclose(
        np.array(per["contributions"]) * 3, per["engine_per_sample"], rtol=1e-12, atol=1e-12
    )


def test_mnist_sized_network_stays_fast_and_short():
    model = mlp([784, 256, 128, 10], nn.ReLU)
    x = np.random.default_rng(0).normal(size=(1, 784))
    start = time.perf_counter()
    report = explain(model, x, np.array([3]), nn.CrossEntropyLoss(), param="0.weight[0, 0]")
    elapsed = time.perf_counter() - start
    assert elapsed < 8.0, f"explain took {elapsed:.2f} s"
    text = report.text(width=None)  # one line per equation: the count measures the content
    assert len(text.splitlines()) < 200
    chain = report.data["chains"][0]
    want = engine_grad(model, x, np.array([3]), nn.CrossEntropyLoss(), "0.weight", (0, 0))
    assert want != 0  # hidden neuron 0 is active, so there are paths to explain
    assert len(chain["paths"]) == 256 < chain["path_count"]
    assert chain["paths_not_listed"] == chain["path_count"] - 256
    assert close(chain["total"], want)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_max_paths_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="max_paths"):
        explain(mlp([2, 1]), np.ones(2), np.ones(1), nn.MSELoss(), max_paths=bad)
