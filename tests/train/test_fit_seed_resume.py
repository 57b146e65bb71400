"""Resuming by hand with ``seed=``: save after 5 epochs, load, ``fit(initial_epoch=5)``.

The private generator of ``seed=7`` was seeded afresh by the second ``fit``, so epoch 5 was
shuffled as epoch 0 had been and the weights differed from a 10-epoch run. It now draws the
skipped epochs' shuffles first: the two runs agree bit for bit.
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import load_checkpoint, save_checkpoint


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 5))
    return X, (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.float64)


def _run_parts():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1)).double()
    opt = optim.Adam(model.parameters(), lr=0.01)
    return model, opt, optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)


def _fit(model, opt, sched, **options):
    return cr.fit(
        model, _data(), nn.BCEWithLogitsLoss(), opt, batch_size=16, scheduler=sched,
        verbose=False, seed=7, **options,
    )  # fmt: skip


def _weights(model):
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def test_seeded_run_resumed_by_hand_equals_the_uninterrupted_run(tmp_path):
    model, opt, sched = _run_parts()
    whole = _fit(model, opt, sched, epochs=10)
    expected = _weights(model)

    model, opt, sched = _run_parts()
    _fit(model, opt, sched, epochs=5)
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, model, opt, sched, state={"rng": cr.get_rng_state()})

    model, opt, sched = _run_parts()  # a new process: fresh objects, another global state
    cr.manual_seed(123)
    state = load_checkpoint(path, model, opt, sched)
    cr.set_rng_state(state["rng"])  # dropout draws from the global generator
    resumed = _fit(model, opt, sched, epochs=10, initial_epoch=5)

    assert resumed.epoch == [5, 6, 7, 8, 9]
    assert resumed.history["loss"] == whole.history["loss"][5:]
    for name, value in _weights(model).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_initial_epoch_without_seed_keeps_the_global_generator_as_it_was():
    # no private generator: nothing is drawn on the caller's behalf
    model, opt, sched = _run_parts()
    cr.manual_seed(3)
    before = cr.get_rng_state()
    cr.fit(
        model, _data(), nn.BCEWithLogitsLoss(), opt, epochs=2, initial_epoch=2, verbose=False,
    )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(cr.get_rng_state()), np.asarray(before))
