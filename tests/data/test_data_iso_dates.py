"""Date columns used as features (``numeric=[...]``/``features=[...]``): days since 1970, and
every cell that is not an ISO date named by its line and column, in training and new rows."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.iso_dates import dates_of
from chainrule.errors import DataError


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _dated(tmp_path, bad=None, at=7):
    days = [f"2021-0{1 + i % 9}-{10 + i % 18}" for i in range(40)]
    if bad is not None:
        days[at] = bad
    rows = "".join(f"{i * 0.1:.1f},{d},{'ab'[i % 2]}\n" for i, d in enumerate(days))
    return _write(tmp_path, "x,when,label\n" + rows)


@pytest.mark.parametrize(
    "bad, why",
    [
        ("2021-02-30", "no such day or time in the calendar"),
        ("2021-13-01", "no such day or time in the calendar"),
        ("2021-03-04 25:00", "no such day or time in the calendar"),
        ("2021-03-04T10:00+25:00", "no such time zone offset \\+25:00"),
        ("03/04/2021", "only ISO dates are"),
    ],
)
def test_a_day_the_calendar_lacks_is_named_by_line_and_column(tmp_path, bad, why):
    # before: NumPy's 'Day out of range in datetime string "2021-02-30"', naming no file,
    # line or column (and '+25:00' was read as an offset of a day and an hour)
    path = _dated(tmp_path, bad)
    place = r"data.csv: line 9, column 2 \('when'\): "
    said = place + f"'{re.escape(bad)}' is not a date this column can read.*{why}"
    with pytest.raises(DataError, match=said):
        cr.data.load_csv(path, target="label", features=["x", "when"])
    with pytest.raises(DataError, match=place):  # with impute: the fill must not hide it
        cr.data.load_csv(path, target="label", features=["x", "when"], impute="mean")


def test_new_rows_with_a_bad_date_are_named_by_line(tmp_path):
    data = cr.data.load_csv(_dated(tmp_path), target="label", features=["x", "when"])
    assert data.X[0, 1] == np.datetime64("2021-01-10").astype(np.int64)
    new = _write(tmp_path, "x,when\n0.5,2021-03-04\n0.5,2021-02-29\n", "new.csv")
    # was "column 'when': '2021-02-29' ..." with no line, or NumPy's message
    with pytest.raises(DataError, match=r"new.csv: line 3, column 2 \('when'\): '2021-02-29'"):
        cr.data.load_csv(new, preprocessor=data.preprocessor)
    fine = _write(tmp_path, "x,when\n0.5,2020-02-29\n0.5,2021-03-04T02:00+02:00\n", "ok.csv")
    X = cr.data.load_csv(fine, preprocessor=data.preprocessor).X
    assert np.isfinite(X).all()


def test_dates_of_reads_zones_and_gives_reasons():
    days, reasons = dates_of(["1970-01-02", "1970-01-02T02:00+02:00", "1970-01-01 12:00Z", "x"])
    np.testing.assert_allclose(days[:3], [1.0, 1.0, 0.5])
    assert np.isnan(days[3]) and reasons[:3] == ["", "", ""] and reasons[3].startswith("only ISO")
