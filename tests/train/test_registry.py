"""chainrule.registry: every name constructs, and every tool offers exactly the registry's names."""

import argparse

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, registry


@pytest.mark.parametrize("name", list(registry.LOSSES))
def test_every_loss_constructs_and_carries_its_formula(name):
    entry = registry.LOSSES[name]
    loss = registry.make_loss(name)
    assert type(loss) is entry.cls and registry.loss_key(loss) == name
    assert entry.formula.startswith("E = ") and entry.derivative
    assert loss.formula == entry.formula and loss.derivative == entry.derivative
    assert loss.output in ("logit", "scores", "value")
    assert entry.outputs(5) == (5 if name == "ce" else 1)


def test_loss_text_follows_the_reduction():
    assert nn.MSELoss(reduction="sum").formula == "E = Σ (o − t)²"
    assert nn.MSELoss(reduction="sum").derivative == "2·(o − t)"
    assert nn.CrossEntropyLoss(reduction="none").formula == nn.CrossEntropyLoss.mean_formula


@pytest.mark.parametrize("name", list(registry.OPTIMIZERS))
def test_every_optimizer_constructs_with_each_of_its_options(name):
    entry = registry.OPTIMIZERS[name]
    param = nn.Parameter(cr.zeros(3))
    opt = registry.make_optimizer(name, [param])
    assert type(opt) is entry.cls and opt.defaults["lr"] == entry.default_lr
    values = {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01}
    opt = registry.make_optimizer(name, [param], **entry.supported(**values))
    for option in entry.options:
        assert opt.defaults[option] == values[option]
    missing = {"momentum"} - set(entry.options)
    if missing:
        with pytest.raises(ValueError, match="takes"):
            registry.make_optimizer(name, [param], momentum=0.9)


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_every_activation_constructs_and_builds_an_mlp(name):
    from chainrule.models import mlp

    assert type(registry.make_activation(name)) is registry.ACTIVATIONS[name]
    model = mlp(2, [3], 1, activation=name)
    assert type(model[1]) is registry.ACTIVATIONS[name]
    assert model(cr.tensor(np.ones((4, 2), "float32"))).shape == (4, 1)


def test_unknown_names_are_refused_with_the_choices():
    for make in (registry.make_loss, registry.make_activation):
        with pytest.raises(ValueError, match="choose one of"):
            make("nope")
    with pytest.raises(ValueError, match="choose one of sgd, adam"):
        registry.make_optimizer("nope", [])


def _choices(parser, dest):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found = _choices(sub, dest)
                if found is not None:
                    return found
        elif action.dest == dest and action.choices is not None:
            return tuple(action.choices)
    return None


def test_cli_choices_are_the_registry_names():
    from chainrule.cli import train_cmd

    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    assert _choices(parser, "loss") == ("auto", *registry.LOSSES)
    assert _choices(parser, "optimizer") == tuple(registry.OPTIMIZERS)
    assert _choices(parser, "activation") == tuple(registry.ACTIVATIONS)


def test_playground_and_saved_metadata_use_the_registry_names():
    from chainrule.io.schema import LOSSES as saved_losses
    from chainrule.playground.validation import limits

    lim = limits()
    assert lim["losses"] == ["auto", *registry.LOSSES]
    assert lim["optimizers"] == list(registry.OPTIMIZERS)
    assert lim["activations"] == list(registry.ACTIVATIONS)
    assert saved_losses == tuple(registry.LOSSES)
