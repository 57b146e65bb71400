"""pandas inputs as users hand them over: nullable integer columns, DataFrames to predict."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

pd = pytest.importorskip("pandas")


def _frame(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": pd.array(rng.integers(0, 5, n), dtype="Int64"),  # pandas' nullable integers
            "y": pd.array(rng.integers(0, 2, n), dtype="Int64"),
        }
    )


def _fit(X, y, loss_fn=None, out=1):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, out))
    opt = optim.SGD(model.parameters(), lr=0.1)
    h = cr.fit(model, (X, y), loss_fn or nn.BCEWithLogitsLoss(), opt, epochs=2, verbose=False)
    return model, h


def test_nullable_integer_columns_train_as_the_numbers_they_are():
    # before: "fit: data X has dtype object; chainrule trains on numbers (convert strings or
    # objects first ...)" about a column of integers
    df = _frame()
    model, h = _fit(df[["a", "b"]], df["y"])
    plain = df[["a", "b"]].astype("float64").to_numpy()
    _, expected = _fit(plain, df["y"].astype("int64").to_numpy())
    assert h.history["loss"] == expected.history["loss"]
    _, h = _fit(df[["a", "b"]], df["y"], nn.CrossEntropyLoss(), out=2)  # labels stay integers
    assert len(h.history["loss"]) == 2
    df.loc[3, "b"] = pd.NA  # a missing value is named by its row, as NaN is
    with pytest.raises(cr.NonFiniteError, match="X row 3 holds NaN"):
        _fit(df[["a", "b"]], df["y"])


def test_text_in_an_object_array_is_named_by_its_first_cell():
    df = _frame()
    words = np.where(df["y"].to_numpy() == 1, "yes", "no").astype(object)
    with pytest.raises(
        cr.DataError,
        match=r"data y holds str values, such as 'no' at row 0; .*"
        r"cr.data.load_csv",
    ):
        _fit(df[["a", "b"]], words)
    codes = df[["a", "b"]].astype({"b": str}).astype({"b": "category"})
    with pytest.raises(
        cr.DataError,
        match=r"data X holds str values, such as '\d' at row 0, "
        r"column 1",
    ):
        _fit(codes, df["y"])


def test_predict_takes_a_data_frame():
    # before: KeyError: 0 (a DataFrame was read as a Dataset, rows fetched by df[0])
    df = _frame()
    model, _ = _fit(df[["a", "b"]], df["y"])
    expected = cr.predict(model, df[["a", "b"]].astype("float64").to_numpy())
    np.testing.assert_array_equal(cr.predict(model, df[["a", "b"]]), expected)
    np.testing.assert_array_equal(cr.predict(model, df[["a", "b"]].astype("float64")), expected)
