"""The activations added to the shared vocabulary train from the command line, reload from the
saved file, and are explained with the engine's own gradient."""

import re

import numpy as np
import pytest
import torch
from cli_helpers import run_cli, write_classification_csv

import chainrule as cr
from chainrule import registry
from chainrule.models import mlp

NEW = {
    "mish": torch.nn.Mish,
    "hardswish": torch.nn.Hardswish,
    "hardsigmoid": torch.nn.Hardsigmoid,
    "softsign": torch.nn.Softsign,
    "tanhshrink": torch.nn.Tanhshrink,
    "selu": torch.nn.SELU,
    "celu": torch.nn.CELU,
}


@pytest.mark.parametrize("name", NEW)
def test_a_new_activation_is_in_the_vocabulary_and_matches_torch(name, tmp_path):
    model = mlp(3, [4], 2, activation=name, dtype="float64")
    assert type(model[1]).__name__ == NEW[name].__name__
    x = np.random.default_rng(0).normal(0, 2, (5, 3))
    xt = cr.tensor(x, dtype="float64")
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), NEW[name](), torch.nn.Linear(4, 2)).double()
    twin.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in model.state_dict().items()}
    )
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(xt).detach().numpy(), expected, rtol=1e-12)
    cr.save(model, tmp_path / "m.safetensors")
    again = cr.load(tmp_path / "m.safetensors")
    assert type(again[1]) is registry.ACTIVATIONS[name]
    np.testing.assert_array_equal(again(xt).detach().numpy(), model(xt).detach().numpy())


def test_train_and_explain_with_mish(tmp_path):
    data = write_classification_csv(tmp_path / "d.csv", n=60)
    model = tmp_path / "m.safetensors"
    args = ["--layers", "3", "--activation", "mish", "--epochs", "2", "--no-plots"]
    trained = run_cli("train", data, "--target", "species", *args, "--out", model)
    assert trained.returncode == 0, trained.stderr
    assert type(cr.load(model)[1]) is cr.nn.Mish
    result = run_cli("explain", model, "--data", data, "--param", "0.weight[0, 1]")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "activation Mish" in text
    assert re.search(r"∂E/∂0\.weight\[0, 1\] = .* = -?[\d.]+", text)
