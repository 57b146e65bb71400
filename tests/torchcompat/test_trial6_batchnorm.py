"""BatchNorm's choice of statistics when a script edits its buffers or flags, against PyTorch:
batch statistics in training, or in eval only when the running ones are gone (None)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((8, 3, 4, 4)).astype(np.float32)


def _run(lib, name, script):
    layer = getattr(lib.nn, name)(3)
    x = lib.tensor(X if name == "BatchNorm2d" else X[:, :, 0, :])
    try:
        out = script(layer, x)
    except Exception as err:  # noqa: BLE001 - the class is the comparison
        return "RuntimeError" if isinstance(err, RuntimeError) else type(err).__name__
    y = out.detach().numpy()
    stats = None if layer.running_mean is None else layer.running_mean.detach().numpy().copy()
    count = None if layer.num_batches_tracked is None else int(layer.num_batches_tracked)
    return y, stats, count


def _toggled_in_eval(b, x):
    b(x * 2 + 1)
    b.eval()
    b.track_running_stats = False  # the running statistics still normalise in eval
    return b(x)


def _toggled_in_training(b, x):
    b(x * 2 + 1)
    b.track_running_stats = False  # batch statistics, no update
    return b(x)


def _buffers_removed(b, x):
    b.running_mean = None
    b.running_var = None
    b(x)
    b.eval()  # no running statistics: the batch's, as in training
    return b(x * 3)


def _one_buffer_removed(b, x):
    b.running_mean = None
    b.eval()
    return b(x)


def _no_counter(b, x):
    b.momentum = None
    b.num_batches_tracked = None
    return b(x)


def _untracked_eval_single_value(b, x):
    b.running_mean = None
    b.running_var = None
    b.eval()
    return b(x[:1, :, :1])


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
@pytest.mark.parametrize(
    "script",
    [
        _toggled_in_eval,
        _toggled_in_training,
        _buffers_removed,
        _one_buffer_removed,
        _no_counter,
        _untracked_eval_single_value,
    ],
)
def test_batchnorm_statistics_follow_torch(name, script):
    ours, theirs = _run(cr, name, script), _run(torch, name, script)
    if isinstance(theirs, str):
        assert ours == theirs or (theirs == "ValueError" and ours == "RuntimeError")
        return
    assert not isinstance(ours, str), ours
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
    if theirs[1] is None:
        assert ours[1] is None
    else:
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    assert ours[2] == theirs[2]


def test_untracked_eval_refuses_one_value_per_channel_as_torch():
    b = cr.nn.BatchNorm1d(3, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="more than one value"):
        b(cr.ones(1, 3))
