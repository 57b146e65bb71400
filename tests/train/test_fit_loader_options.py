"""``fit(loader, batch_size=64)`` or ``fit(loader, seed=7)`` with a ``DataLoader``: the loader
makes its own batches and shuffles with its own generator, so these were ignored without a
word (a run believed to be seeded was not). They are refused; the same batch size, or none,
is fine."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(data, **options):
    cr.manual_seed(0)
    model = nn.Linear(3, 1).double()
    return cr.fit(model, data, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1,
                  verbose=False, **options)  # fmt: skip


def _loader(batch_size=10):
    X = np.random.default_rng(0).normal(size=(40, 3))
    return cr.data.DataLoader(cr.data.TensorDataset(X, X[:, 0]), batch_size=batch_size)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"batch_size": 64}, "batch_size=64 is ignored for a DataLoader"),
        ({"seed": 7}, "seed= and generator= are ignored"),
        ({"generator": cr.Generator(7)}, "seed= and generator= are ignored"),
    ],
)
def test_options_a_loader_would_ignore_are_refused(options, match):
    with pytest.raises(ValueError, match=match):
        _fit(_loader(), **options)


def test_the_loaders_own_batch_size_or_none_is_accepted():
    assert _fit(_loader(), batch_size=10).params["batch_size"] == 10
    assert _fit(_loader()).params["batch_size"] == 10
    X = np.zeros((40, 3))
    assert _fit((X, X[:, 0])).params["batch_size"] == 32  # the default for arrays
