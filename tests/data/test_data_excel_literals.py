"""Cells exported as Excel text formulas (``="00123"``) read as what Excel shows."""

import numpy as np

from chainrule.data import load_csv


def _files(tmp_path):
    rng = np.random.default_rng(3)
    zips = rng.integers(0, 5, 40)
    xs = rng.normal(0, 10, 40)
    wrapped = [
        f'"=""{z:05d}""","=""{x:.2f}""","=""{"ab"[i % 2]}"""'
        for i, (z, x) in enumerate(zip(zips, xs))
    ]
    plain = [f"{z:05d},{x:.2f},{'ab'[i % 2]}" for i, (z, x) in enumerate(zip(zips, xs))]
    a, b = tmp_path / "shop.csv", tmp_path / "plain.csv"
    a.write_text("zip,amount,label\n" + "\n".join(wrapped) + "\n")
    b.write_text("zip,amount,label\n" + "\n".join(plain) + "\n")
    return a, b


def test_text_formulas_read_as_the_values_they_show(tmp_path):
    # before: '="00004"' was a category never equal to a plain 00004, '="4.18"' text (the
    # amount column an identifier, left out) and '="a"' a class label with its formula
    wrapped, plain = _files(tmp_path)
    shop, bare = load_csv(wrapped, target="label"), load_csv(plain, target="label")
    assert (
        shop.feature_names
        == bare.feature_names
        == ["zip=0", "zip=1", "zip=2", "zip=3", "zip=4", "amount"]
    )
    assert shop.schema["zip"].role == "categorical" and shop.class_names == ["a", "b"]
    np.testing.assert_array_equal(shop.X, bare.X)
    np.testing.assert_array_equal(shop.y, bare.y)


def test_new_rows_match_whichever_way_each_file_writes_them(tmp_path):
    wrapped, plain = _files(tmp_path)
    for train, new in ((wrapped, plain), (plain, wrapped)):
        data = load_csv(train, target="label")
        data.preprocessor.fit(data.X)
        rows = load_csv(new, target="label", preprocessor=data.preprocessor)
        np.testing.assert_array_equal(rows.X, data.X)
        assert not rows.notes  # no unseen category
