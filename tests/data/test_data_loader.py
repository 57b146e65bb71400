"""Dataset, TensorDataset, Subset and DataLoader: batching, shuffling, speed and exact resume."""

import json
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset
from chainrule.errors import DataError


def _data(n=10):
    return np.arange(2.0 * n).reshape(n, 2), np.arange(n, dtype=np.int64)


def test_tensor_dataset_items_and_errors():
    X, y = _data()
    ds = TensorDataset(X, cr.tensor(y))
    x3, y3 = ds[3]
    assert isinstance(x3, cr.Tensor) and x3.data.tolist() == [6.0, 7.0] and y3.item() == 3
    assert len(ds) == 10 and ds.arrays[0] is X  # no copy
    with pytest.raises(cr.ShapeError, match=r"\(10, 2\), \(9,\)"):
        TensorDataset(X, y[:9])
    with pytest.raises(cr.DTypeError):
        TensorDataset(np.array(["a", "b"]))
    with pytest.raises(cr.ShapeError):
        TensorDataset(np.float64(1.0))
    with pytest.raises(cr.DataError):
        TensorDataset()


def test_batches_keep_dtypes_and_order():
    X, y = _data()
    loader = DataLoader(TensorDataset(X.astype(np.float32), y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    assert np.concatenate([b[1].data for b in batches]).tolist() == list(range(10))
    loader64 = DataLoader(TensorDataset(X, y), batch_size=4)
    assert next(iter(loader64))[0].dtype == np.float64


def test_drop_last():
    X, y = _data(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [b[1].shape for b in loader] == [(4,), (4,)]
    assert len(DataLoader(TensorDataset(X, y), batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(TensorDataset(X, y), batch_size=11, drop_last=True)) == 0


def test_tuple_of_arrays_is_accepted():
    X, y = _data()
    (xb, yb) = next(iter(DataLoader((X, y), batch_size=3)))
    assert xb.shape == (3, 2) and yb.data.tolist() == [0, 1, 2]


def test_shuffle_is_a_permutation_and_reproducible():
    X, y = _data(50)

    def epoch(loader):
        return np.concatenate([b[1].data for b in loader]).tolist()

    a = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, generator=cr.Generator(5))
    b = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, generator=cr.Generator(5))
    ea1, ea2 = epoch(a), epoch(a)
    assert sorted(ea1) == list(range(50)) and ea1 != list(range(50))
    assert ea1 != ea2  # a new order each epoch
    assert [ea1, ea2] == [epoch(b), epoch(b)]
    # features and labels stay paired
    for xb, yb in a:
        assert np.array_equal(xb.data, X[np.asarray(yb.data)])


def test_default_generator_follows_manual_seed():
    X, y = _data(30)
    loader = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True)
    cr.manual_seed(7)
    first = next(iter(loader))[1].data.tolist()
    cr.manual_seed(7)
    assert next(iter(loader))[1].data.tolist() == first


def _run(loader, epochs, stop_after=None):
    """Labels of every batch over `epochs`; stop (return state) after `stop_after` batches."""
    seen, count = [], 0
    for _ in range(epochs):
        for batch in loader:
            seen.append(batch[1].data.tolist())
            count += 1
            if count == stop_after:
                return seen, json.loads(json.dumps(loader.state_dict()))
    return seen, None


@pytest.mark.parametrize("stop_after", [1, 3, 5, 7, 8, 12])
@pytest.mark.parametrize("own_generator", [True, False])
def test_resume_mid_epoch_is_identical(stop_after, own_generator):
    X, y = _data(23)
    epochs = 3

    def make():
        gen = cr.Generator(11) if own_generator else None
        return DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, generator=gen)

    cr.manual_seed(1)
    reference, _ = _run(make(), epochs)
    cr.manual_seed(1)
    first, state = _run(make(), epochs, stop_after=stop_after)
    cr.manual_seed(999)  # the interruption scrambles the default generator
    resumed = make()
    resumed.load_state_dict(state)
    rest = []
    epochs_done = (stop_after - 1) // 5  # whole epochs before the interruption (5 batches each)
    for _ in range(epochs - epochs_done):
        rest += [b[1].data.tolist() for b in resumed]
    assert first + rest == reference


def test_state_dict_refuses_other_settings():
    X, y = _data(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True)
    state = loader.state_dict()
    other = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True)
    with pytest.raises(cr.DataError, match="batch_size"):
        other.load_state_dict(state)
    with pytest.raises(cr.DataError):
        loader.load_state_dict({"nonsense": 1})


class Squares(Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        return np.array([float(i)]), i * i


def test_plain_dataset_is_stacked_per_sample():
    batches = list(DataLoader(Squares(), batch_size=4))
    assert [b[1].data.tolist() for b in batches] == [[0, 1, 4, 9], [16, 25, 36, 49], [64]]
    assert batches[0][0].shape == (4, 1)


def test_subset_batches_through_the_fast_path():
    X, y = _data(10)
    sub = Subset(TensorDataset(X, y), [9, 2, 4])
    assert len(sub) == 3 and sub[0][1].item() == 9
    (xb, yb) = next(iter(DataLoader(sub, batch_size=3)))
    assert yb.data.tolist() == [9, 2, 4]
    with pytest.raises(cr.DataError):
        Subset(TensorDataset(X, y), [10])


class Counting(TensorDataset):
    calls = 0

    def __getitem__(self, index):
        type(self).calls += 1
        return super().__getitem__(index)


def test_array_backed_datasets_never_loop_per_sample():
    n = 100_000
    X = np.random.default_rng(0).standard_normal((n, 20)).astype(np.float32)
    y = np.arange(n)
    loader = DataLoader(Counting(X, y), batch_size=1000, shuffle=True)
    start = time.process_time()
    total = sum(len(yb) for _, yb in loader)
    elapsed = time.process_time() - start
    assert total == n and Counting.calls == 0
    assert elapsed < 1.0, f"one epoch of 100k rows took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 0}, {"batch_size": 2.5}, {"batch_size": True}, {"generator": 3}]
)
def test_bad_loader_arguments(kwargs):
    with pytest.raises(cr.DataError):
        DataLoader(TensorDataset(np.zeros(3)), **kwargs)


def test_not_a_dataset():
    with pytest.raises(cr.DataError, match="Dataset"):
        DataLoader(42)


def test_a_list_of_sample_tuples_is_read_as_samples_as_pytorch_reads_it():
    """``DataLoader(list(zip(X, y)))``: one tuple per sample (it was read as 2,000 fields)."""
    rng = np.random.default_rng(0)
    X = rng.random((10, 3), dtype=np.float32)
    y = rng.integers(0, 2, 10)
    batches = list(DataLoader(list(zip(X, y)), batch_size=4))
    assert [xb.shape for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), X)
    np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in batches]), y)
    # a tuple or a list of arrays stays the fields themselves
    assert [xb.shape for xb, _ in DataLoader([X, y], batch_size=5)] == [(5, 3), (5, 3)]
    with pytest.raises(DataError, match="same fields"):
        DataLoader([(X[0], y[0]), (X[1],)])
    with pytest.raises(DataError, match="differ in shape"):
        DataLoader([(X[0], y[0]), (X[1][:2], y[1])])


def test_pytorchs_loader_arguments_point_to_the_loader_that_takes_them():
    # a PyTorch script's num_workers=4, pin_memory=True was a bare "unexpected keyword"
    data = cr.data.TensorDataset(np.zeros((4, 1, 2, 2), np.float32), np.arange(4))
    with pytest.raises(TypeError, match=r"got num_workers, pin_memory; chainrule\.utils\.data"):
        cr.data.DataLoader(data, batch_size=2, num_workers=4, pin_memory=True)
    loader = cr.utils.data.DataLoader(data, batch_size=2, num_workers=2, pin_memory=True)
    assert [len(x) for x, _ in loader] == [2, 2]
