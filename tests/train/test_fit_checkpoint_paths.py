"""``ModelCheckpoint`` paths whose ``{fields}`` the run does not log.

``ModelCheckpoint("m-{val_loss:.2f}.safetensors")`` without validation data trained a whole
epoch and then failed with a bare ``KeyError: 'val_loss'``; so did a misspelt key. Both are
now refused before the first epoch, naming the keys the path can use.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _fit(path, **options):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.float64)
    model = nn.Sequential(nn.Linear(3, 1)).double()
    seen = []
    counter = cr.callbacks.LambdaCallback(on_epoch_begin=lambda epoch: seen.append(epoch))
    checkpoint = cr.callbacks.ModelCheckpoint(path, monitor="loss")
    cr.fit(model, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
           epochs=2, verbose=False, callbacks=[counter, checkpoint], **options)  # fmt: skip
    return seen


def test_a_val_field_without_validation_data_is_refused_before_training(tmp_path):
    seen = []
    with pytest.raises(ValueError, match=r"\{val_loss\}.*no validation data") as info:
        seen = _fit(str(tmp_path / "m-{val_loss:.2f}.safetensors"))
    assert "{loss}" in str(info.value) and seen == []
    assert list(tmp_path.iterdir()) == []


def test_a_misspelt_field_names_the_keys_it_could_use(tmp_path):
    with pytest.raises(ValueError, match=r"\{val_acc\}.*\{val_accuracy\}"):
        _fit(str(tmp_path / "m-{val_acc:.3f}.safetensors"), validation_split=0.25)


def test_a_positional_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match="positional"):
        _fit(str(tmp_path / "m-{}.safetensors"))


def test_fields_the_run_logs_and_literal_braces_are_written(tmp_path):
    _fit(
        str(tmp_path / "m{{x}}-{epoch:02d}-{val_loss:.3f}-{lr}.safetensors"), validation_split=0.25
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("m{x}-01-")
