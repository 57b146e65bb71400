"""Built-in datasets: shapes, dtypes, seeds, and that they hold the problem they promise."""

import gzip
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import datasets

SEEDED = {
    "seed_example": {"n": 200},
    "moons": {"n": 500},
    "circles": {"n": 500},
    "spirals": {"n": 500},
    "blobs": {"n": 500},
    "linear_regression": {"n": 200},
}


@pytest.mark.parametrize("name", datasets.NAMES)
def test_shapes_and_dtypes(name):
    X, y = datasets.load(name)
    assert X.dtype == np.float64 and X.ndim == 2
    assert y.shape == (len(X),)
    if name == "linear_regression":
        assert y.dtype == np.float64
    else:
        assert y.dtype == np.int64
        assert y.min() == 0 and len(np.unique(y)) == y.max() + 1
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    make = getattr(datasets, name)
    X1, y1 = make(seed=3)
    X2, y2 = make(seed=3)
    X3, _ = make(seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_global_numpy_random_state_is_untouched(name):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    getattr(datasets, name)(seed=1)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("name", sorted(SEEDED))
@pytest.mark.parametrize("n", [3, 7, 101])
def test_n_is_honoured(name, n):
    X, y = getattr(datasets, name)(n=n)
    assert len(X) == len(y) == n


def test_xor_truth_table():
    X, y = datasets.xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [int(a) ^ int(b) for a, b in X]


def test_seed_example_is_separable_by_one_unit():
    X, y = datasets.seed_example(n=2000, seed=0)
    assert X.shape == (2000, 2) and np.bincount(y).tolist() == [1000, 1000]
    # one hidden unit draws one line; the diagonal line gets almost every point right
    wrong = ((X.sum(axis=1) > 0).astype(int) != y).mean()
    assert wrong < 0.01
    assert np.allclose(X[y == 0].mean(axis=0), [-1, -1], atol=0.1)


def test_moons_are_not_linearly_separable_but_classes_balanced():
    X, y = datasets.moons(n=500, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [250, 250]
    upper = X[y == 0]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    # least-squares linear classifier cannot get them all
    A = np.column_stack([X, np.ones(len(X))])
    w = np.linalg.lstsq(A, 2.0 * y - 1.0, rcond=None)[0]
    assert ((A @ w > 0) != y).sum() > 10


def test_circles_radii():
    X, y = datasets.circles(n=400, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.3)


def test_spirals_classes_and_disc():
    X, y = datasets.spirals(n=300, classes=3, seed=0)
    assert np.bincount(y).tolist() == [100, 100, 100]
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-12


def test_blobs_given_centres():
    centres = np.array([[0.0, 0.0, 0.0], [20.0, 20.0, 20.0]])
    X, y = datasets.blobs(n=200, centers=centres, std=0.5, seed=0)
    assert X.shape == (200, 3)
    assert np.allclose(X[y == 1].mean(axis=0), 20.0, atol=0.3)
    X, y = datasets.blobs(n=10, centers=4, features=5)
    assert X.shape == (10, 5) and np.bincount(y).tolist() == [3, 3, 2, 2]


def test_linear_regression_is_linear_up_to_noise():
    X, y = datasets.linear_regression(n=500, features=3, noise=0.1, seed=0)
    A = np.column_stack([X, np.ones(len(X))])
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    assert 0.08 < residual.std() < 0.12


def test_digits_matches_the_shipped_file():
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert len(np.unique(y)) == 10 and np.unique(X).tolist() == list(range(17))
    assert np.bincount(y).min() >= 170
    X[0, 0] = 99.0  # a copy: the cache is not harmed
    assert datasets.digits()[0][0, 0] == 0.0


def test_digits_against_sklearn_copy():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    ref = sklearn_datasets.load_digits()
    X, y = datasets.digits()
    assert np.array_equal(X, ref.data) and np.array_equal(y, ref.target)


def test_digits_file_and_licence_are_in_the_package():
    files = resources.files("chainrule.data").joinpath("files")
    licence = files.joinpath("LICENSE-digits.txt").read_text(encoding="utf-8")
    assert "CC BY 4.0" in licence and "Alpaydin" in licence
    with files.joinpath("digits.csv.gz").open("rb") as raw:
        assert len(gzip.decompress(raw.read()).splitlines()) == 1797


def test_digits_loads_without_sklearn():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import chainrule as cr; X, y = cr.datasets.digits(); print(X.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1797, 64)"


def test_load_by_name_and_errors():
    assert np.array_equal(datasets.load("Seed-Example")[0], datasets.seed_example()[0])
    assert datasets.load("moons", n=10)[0].shape == (10, 2)
    with pytest.raises(cr.DataError, match="moons") as err:
        datasets.load("moonz")
    assert all(name in str(err.value) for name in datasets.NAMES)
    with pytest.raises(cr.DataError, match="xor"):
        datasets.load("xor", n=3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.moons(n=1),
        lambda: datasets.moons(noise=-1),
        lambda: datasets.circles(factor=1.5),
        lambda: datasets.spirals(classes=1),
        lambda: datasets.blobs(centers=0),
        lambda: datasets.linear_regression(features=0),
        lambda: datasets.seed_example(n=2.5),
    ],
)
def test_bad_arguments_raise_data_error(call):
    with pytest.raises(cr.DataError):
        call()


def test_top_level_lazy_name():
    assert cr.datasets is datasets
