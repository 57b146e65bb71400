"""nn.utils.rnn: pad_sequence and unpad_sequence as PyTorch's; packed sequences refused clearly."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils import rnn

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as torch_rnn  # noqa: E402

LENGTHS = [3, 5, 1, 5]


def _sequences(trailing=(2,), dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n, *trailing)).astype(dtype) for n in LENGTHS]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2,), (2, 3)])
def test_pad_sequence_matches_torch_values_and_gradients(batch_first, padding_side, trailing):
    arrays = _sequences(trailing)
    ours = [cr.tensor(a, requires_grad=True, dtype=cr.float64) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kwargs = dict(batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    out = rnn.pad_sequence(ours, **kwargs)
    want = torch_rnn.pad_sequence(theirs, **kwargs)
    np.testing.assert_array_equal(np.asarray(out), want.detach().numpy())
    assert out.dtype == cr.float64
    weights = np.random.default_rng(1).standard_normal(want.shape)
    (out * cr.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy())


def test_pad_sequence_dtypes_and_a_tensor_of_rows_as_torch():
    ints = [np.arange(2), np.arange(3)]
    out = rnn.pad_sequence([cr.tensor(a) for a in ints], padding_value=1.5)
    want = torch_rnn.pad_sequence([torch.tensor(a) for a in ints], padding_value=1.5)
    np.testing.assert_array_equal(np.asarray(out), want.numpy())
    assert str(out.dtype) == "int64" == str(want.dtype).removeprefix("torch.")
    mixed = [cr.tensor(np.ones((2, 3)), dtype=cr.float64), cr.ones(3, 3)]
    assert rnn.pad_sequence(mixed).dtype == cr.float64  # the first sequence's dtype, as torch
    rows = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        np.asarray(rnn.pad_sequence(cr.tensor(rows, dtype=cr.float64))),
        torch_rnn.pad_sequence(torch.tensor(rows)).numpy(),
    )


def test_unpad_sequence_inverts_pad_sequence_as_torch():
    arrays = _sequences()
    for batch_first in (False, True):
        padded = rnn.pad_sequence(
            [cr.tensor(a, dtype=cr.float64) for a in arrays], batch_first=batch_first
        )
        back = rnn.unpad_sequence(padded, cr.tensor(LENGTHS), batch_first=batch_first)
        want = torch_rnn.unpad_sequence(
            torch.tensor(np.asarray(padded)), torch.tensor(LENGTHS), batch_first=batch_first
        )
        for ours, theirs, original in zip(back, want, arrays, strict=True):
            np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
            np.testing.assert_array_equal(np.asarray(ours), original)


def test_the_last_real_step_of_a_padded_batch_through_an_lstm():
    cr.manual_seed(0)
    lstm = cr.nn.LSTM(2, 4, batch_first=True)
    arrays = _sequences(dtype=np.float32)
    out, _ = lstm(rnn.pad_sequence([cr.tensor(a) for a in arrays], batch_first=True))
    last = out[cr.arange(len(LENGTHS)), cr.tensor(LENGTHS) - 1]
    for i, a in enumerate(arrays):  # each alone: its last step, with no padding after it
        _, (h, _) = lstm(cr.tensor(a[None]))
        np.testing.assert_allclose(np.asarray(last[i]), np.asarray(h[0, 0]), atol=1e-6)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: rnn.pad_sequence([]), ValueError, "empty list of sequences"),
        (lambda: rnn.pad_sequence([cr.ones(2, 3), cr.ones(3, 4)]), cr.ShapeError, "sequence 1"),
        (lambda: rnn.pad_sequence([cr.ones(2, 3), cr.ones(3)]), cr.ShapeError, "(length, *(3,))"),
        (lambda: rnn.pad_sequence([cr.tensor(1.0)]), cr.ShapeError, "sequence 0 has shape ()"),
        (lambda: rnn.pad_sequence([[1.0, 2.0]]), TypeError, "wrap it with cr.tensor"),
        (lambda: rnn.unpad_sequence(cr.ones(3, 2), [4, 1]), cr.ShapeError, "do not fit"),
    ],
)
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(
        error, match=match.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
    ):
        call()


def test_torch_code_imports_the_same_names():
    assert cr.nn.utils.rnn is rnn
    from chainrule.torch_compat import ALIASES

    assert ALIASES["torch.nn.utils.rnn"] == "chainrule.nn.utils.rnn"
    for name in rnn.__all__:  # each of ours is PyTorch's name
        assert hasattr(torch_rnn, name), name


def test_a_padding_side_other_than_left_or_right_raises_as_torch():
    # torch raises RuntimeError ("Expected padding_side to be one of left or right"); ours was
    # only a ValueError, which `except RuntimeError:` written for torch missed
    from torch.nn.utils.rnn import pad_sequence as torch_pad

    with pytest.raises(RuntimeError, match="left or right"):
        torch_pad([torch.ones(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="padding_side must be 'left' or 'right', got 'middle'"):
        rnn.pad_sequence([cr.ones(2)], padding_side="middle")
    with pytest.raises(ValueError, match="got 'middle'"):  # as chainrule's was
        rnn.pad_sequence([cr.ones(2)], padding_side="middle")
