"""torch.utils.data pieces a training script reaches for: WeightedRandomSampler and
IterableDataset, against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
D, TD = cr.utils.data, torch.utils.data


def _outcome(fn):
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - the class is the comparison
        return type(err).__name__


@pytest.mark.parametrize(
    "args",
    [
        ([0.1, 0.9, 0.0, 1.0], 7, True),
        ([0.1, 0.9, 0.0, 1.0], 3, False),
        ([0.1, 0.9, 0.0, 1.0], 5, False),
        ([[1.0, 2.0]], 2, True),
        ([1.0, -1.0], 2, True),
        ([0.0, 0.0], 2, True),
        ([1.0, 2.0], 0, True),
        ([1.0, 2.0], 2.0, True),
        ([1.0, 2.0], 2, 1),
    ],
)
def test_weighted_sampler_lengths_and_errors_match_torch(args):
    ours = _outcome(
        lambda: (len(D.WeightedRandomSampler(*args)), len(list(D.WeightedRandomSampler(*args))))
    )
    theirs = _outcome(
        lambda: (len(TD.WeightedRandomSampler(*args)), len(list(TD.WeightedRandomSampler(*args))))
    )
    assert ours == theirs


def test_weighted_sampler_draws_by_weight():
    cr.manual_seed(0)
    draws = list(D.WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    assert all(type(i) is int for i in draws)
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and 0.70 < counts[2] / 4000 < 0.80
    # without replacement: each index once, zero weights only after every positive one
    for seed in range(20):
        order = list(
            D.WeightedRandomSampler(
                [0.0, 1.0, 0.0, 5.0],
                4,
                replacement=False,
                generator=cr.Generator().manual_seed(seed),
            )
        )
        assert sorted(order) == [0, 1, 2, 3] and set(order[2:]) == {0, 2}
    s, t = D.WeightedRandomSampler([1, 2], 3), TD.WeightedRandomSampler([1, 2], 3)
    assert (s.num_samples, s.replacement, str(s.weights.dtype)) == (
        t.num_samples,
        t.replacement,
        "float64",
    )


def test_weighted_sampler_in_a_loader_balances_classes():
    y = np.array([0] * 90 + [1] * 10)
    weights = 1.0 / np.bincount(y)[y]
    loader = D.DataLoader(
        D.TensorDataset(np.arange(100), y),
        batch_size=50,
        sampler=D.WeightedRandomSampler(weights, 2000, generator=cr.Generator().manual_seed(0)),
    )
    labels = np.concatenate([b[1].numpy() for b in loader])
    assert len(loader) == 40 and len(labels) == 2000 and 0.4 < labels.mean() < 0.6


def _stream(lib, n=7, with_len=False):
    class Count(lib.utils.data.IterableDataset):
        def __iter__(self):
            return iter([(float(i), i) for i in range(n)])

    if with_len:
        Count.__len__ = lambda self: n
    return Count()


@pytest.mark.parametrize(
    "kw",
    [
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 2, "collate_fn": len},
    ],
)
def test_iterable_dataset_batches_match_torch(kw):
    def run(lib):
        out = []
        for b in lib.utils.data.DataLoader(_stream(lib), **kw):
            if isinstance(b, int):
                out.append(b)
            else:
                out.append([np.asarray(f).tolist() if hasattr(f, "shape") else f for f in b])
        return out

    assert run(cr) == run(torch)
    assert isinstance(_stream(cr), D.Dataset)


@pytest.mark.parametrize(
    "kw",
    [
        {"shuffle": True},
        {"sampler": [0]},
        {"batch_sampler": [[0]]},
        {"shuffle": None},
        {"shuffle": False},
    ],
)
def test_iterable_dataset_options_and_len_match_torch(kw):
    ours = _outcome(lambda: len(list(D.DataLoader(_stream(cr), **kw))))
    theirs = _outcome(lambda: len(list(TD.DataLoader(_stream(torch), **kw))))
    assert ours == theirs
    assert _outcome(lambda: len(D.DataLoader(_stream(cr), batch_size=2))) == "TypeError"
    for drop in (False, True):
        ours = len(D.DataLoader(_stream(cr, with_len=True), batch_size=2, drop_last=drop))
        assert ours == len(
            TD.DataLoader(_stream(torch, with_len=True), batch_size=2, drop_last=drop)
        )


def _fields(batch):
    if isinstance(batch, (list, tuple)):
        return [_fields(b) for b in batch]
    return (batch.tolist(), str(batch.dtype).replace("torch.", ""))


def test_torch_style_getitems_returns_a_list_of_samples():
    # PyTorch's contract: __getitems__(indices) gives a list of samples, then collated
    def make(lib):
        class Rows(lib.utils.data.Dataset):
            def __len__(self):
                return 5

            def __getitem__(self, i):
                return lib.tensor([float(i), 2.0 * i]), i

            def __getitems__(self, indices):
                return [self[int(i)] for i in indices]

        return Rows()

    def run(lib):
        D = lib.utils.data
        whole = [_fields(b) for b in D.DataLoader(make(lib), batch_size=2)]
        part = [_fields(b) for b in D.DataLoader(D.Subset(make(lib), [4, 0, 2]), batch_size=2)]
        return whole, part

    assert run(cr) == run(torch)


def test_random_split_indices_are_a_list_as_torch():
    def run(lib):
        D = lib.utils.data
        a, b = D.random_split(range(10), [6, 4], generator=lib.Generator().manual_seed(1))
        joined = D.Subset(range(10), a.indices + b.indices)  # list concatenation, not a sum
        return type(a.indices).__name__, sorted(joined[i] for i in range(len(joined)))

    assert run(cr) == run(torch) == ("list", list(range(10)))
    sub = D.Subset(range(10), cr.tensor([3, 1]))
    assert [sub[0], sub[1]] == [3, 1]


@pytest.mark.parametrize(
    "kw",
    [
        {"batch_size": 4},
        {"batch_size": 4, "shuffle": True},
        {"batch_size": 4, "drop_last": True},
        {"batch_size": None},
    ],
)
def test_loader_sampler_attributes_match_torch(kw):
    def run(lib):
        D = lib.utils.data
        loader = D.DataLoader(D.TensorDataset(lib.arange(10)), **kw)
        bs = loader.batch_sampler
        return (
            type(loader.sampler).__name__,
            len(loader.sampler),
            None if bs is None else (type(bs).__name__, len(bs), bs.batch_size, bs.drop_last),
        )

    assert run(cr) == run(torch)
    # a shuffling loader still gives every sample once per epoch
    loader = D.DataLoader(D.TensorDataset(np.arange(10)), batch_size=4, shuffle=True)
    assert sorted(np.concatenate([b[0].numpy() for b in loader]).tolist()) == list(range(10))


def test_chain_dataset_and_plus_of_streams_match_torch():
    def run(lib):
        D = lib.utils.data

        class Count(D.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

            def __len__(self):
                return self.n

        both = Count(2) + Count(3)
        batches = [b.tolist() for b in D.DataLoader(both, batch_size=2)]
        return type(both).__name__, list(both), len(both), batches, D.get_worker_info()

    assert run(cr) == run(torch)
    with pytest.raises(TypeError, match="ConcatDataset"):
        list(D.ChainDataset([D.TensorDataset(np.ones(2))]))


def test_stack_dataset_matches_torch():
    def run(lib):
        D = lib.utils.data
        pair = D.StackDataset([1, 2, 3], ["a", "b", "c"])
        named = D.StackDataset(x=[1, 2, 3], y=[4.0, 5.0, 6.0])
        batches = [{k: _fields(v) for k, v in b.items()} for b in D.DataLoader(named, batch_size=2)]
        errors = [
            _outcome(lambda: D.StackDataset([1], [1, 2])),
            _outcome(lambda: D.StackDataset([1], b=[1])),
            _outcome(lambda: D.StackDataset()),
        ]
        return pair[1], len(pair), named[2], batches, errors

    assert run(cr) == run(torch)


def test_samples_of_different_shapes_raise_runtime_error_as_torch():
    def run(lib):
        D = lib.utils.data

        class Ragged(D.Dataset):
            def __len__(self):
                return 3

            def __getitem__(self, i):
                return lib.ones(i + 1), i

        with pytest.raises(RuntimeError, match="equal size") as info:
            list(D.DataLoader(Ragged(), batch_size=3))
        return str(info.value).split(":")[0]

    assert run(cr) == run(torch)
    with pytest.raises(RuntimeError, match="pad_sequence"):
        D.default_collate([np.ones(2), np.ones(3)])


def _collated(b):
    if isinstance(b, dict):
        return {k: _collated(v) for k, v in b.items()}
    if isinstance(b, (list, tuple)):
        return [_collated(v) for v in b]
    if hasattr(b, "dtype"):
        return (b.tolist(), str(b.dtype).replace("torch.", ""))
    return b


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, i: (lib.ones(2) * i, f"label{i}"),  # strings stay a list of str
        lambda lib, i: (lib.ones(1) * i, {"a": i, "b": [i, i]}),  # nested dict and list
        lambda lib, i: ([i, i + 1], (i,)),  # lists are collated field by field
        lambda lib, i: {"x": np.ones(2) * i, "name": "n"},
    ],
)
def test_random_split_of_a_custom_dataset_collates_as_torch(make):
    # a Subset (what random_split returns) of a dataset without __getitems__ was stacked
    # with NumPy: string tensors, object tensors, lists stacked into one 2-D tensor
    def run(lib):
        D = lib.utils.data

        class Samples(D.Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return make(lib, i)

        sub = D.Subset(Samples(), [0, 2, 3])
        return [_collated(b) for b in D.DataLoader(sub, batch_size=2)]

    assert run(cr) == run(torch)


def test_chainrule_loader_still_stacks_subsets_of_custom_datasets():
    class Samples(cr.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.ones(2) * i, i

    batches = list(cr.data.DataLoader(cr.data.Subset(Samples(), [3, 1]), batch_size=2))
    assert [b.tolist() for b in batches[0]] == [[[3.0, 3.0], [1.0, 1.0]], [3, 1]]


@pytest.mark.parametrize(
    "make",
    [
        lambda D: D.BatchSampler(range(3), 0, False),
        lambda D: D.BatchSampler(range(3), 2.0, False),
        lambda D: D.BatchSampler(range(3), 2, "yes"),
        lambda D: D.default_collate([None, None]),
        lambda D: D.RandomSampler(range(3), num_samples=0),
    ],
)
def test_sampler_and_collate_refusals_match_torch(make):
    assert _outcome(lambda: make(D)) == _outcome(lambda: make(TD)) or isinstance(
        _catch(lambda: make(D)), type(_catch(lambda: make(TD)))
    )


def _catch(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the class is the comparison
        return err
    return None


@pytest.mark.parametrize(
    "kw",
    [
        {"num_replicas": 3, "rank": 1, "shuffle": False},
        {"num_replicas": 3, "rank": 2, "shuffle": False, "drop_last": True},
        {"num_replicas": 4, "rank": 3, "shuffle": False},
    ],
)
def test_distributed_sampler_under_utils_data_matches_torch(kw):
    ours, theirs = D.DistributedSampler(range(10), **kw), TD.DistributedSampler(range(10), **kw)
    assert (list(ours), len(ours)) == (list(theirs), len(theirs))


def _typed(b):
    if isinstance(b, dict):
        return {k: _typed(v) for k, v in b.items()}
    if isinstance(b, (list, tuple)):
        return type(b).__name__, [_typed(v) for v in b]
    if hasattr(b, "dtype"):
        return b.tolist(), str(b.dtype).replace("torch.", "")
    return b


Point = __import__("collections").namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "samples",
    [
        [Point(1, 2.0), Point(3, 4.0)],  # a namedtuple batch keeps its type (batch.x)
        [1, 2.5],  # ints then floats: float32, as torch.tensor(batch)
        [True, 2],
        [2.5, 1],
        [(1, "a"), (2, "b")],  # a field of strings stays the tuple it was
        [{"a": (1, "x")}, {"a": (2, "y")}],
        [np.float32(1), np.float32(2)],
    ],
)
def test_default_collate_types_match_torch(samples):
    assert _typed(D.default_collate(samples)) == _typed(TD.default_collate(samples))


@pytest.mark.parametrize(
    "samples",
    [[np.array(["a"]), np.array(["b"])], [np.array([1, None]), np.array([1, None])], [[1, 2], [3]]],
)
def test_default_collate_refusals_match_torch(samples):
    ours, theirs = (
        _catch(lambda: D.default_collate(samples)),
        _catch(lambda: TD.default_collate(samples)),
    )
    assert isinstance(ours, type(theirs)), (ours, theirs)


def test_loader_over_namedtuples_gives_namedtuple_batches():
    batches = list(D.DataLoader([Point(i, float(i)) for i in range(3)], batch_size=2))
    assert [b.x.tolist() for b in batches] == [[0, 1], [2]]
    assert str(batches[0].y.dtype) == "float64"
