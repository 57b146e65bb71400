"""Times of day (08:15, 17:40:05, 8:15 PM) are a feature, hours since midnight: before, a
column of them was an identifier (nearly every value distinct) and left out without a word,
so a model whose target depends on the hour trained into one that could not predict."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import Preprocessor, load_csv
from chainrule.data.times import parse_time


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _clock(rng, n):
    """n times of day as people and tools write them: 8:05, 08:05:30, 8:05 PM, 20:05:30.25."""
    minutes = rng.integers(0, 24 * 60, n)
    cells = []
    for k, m in enumerate(minutes):
        h, mm = divmod(int(m), 60)
        style = k % 4
        if style == 0:
            cells.append(f"{h}:{mm:02d}")
        elif style == 1:
            cells.append(f"{h:02d}:{mm:02d}:30")
        elif style == 2:
            meridiem = ["am", "PM"][h >= 12]
            cells.append(f"{(h % 12) or 12}:{mm:02d} {meridiem}")
        else:
            cells.append(f"{h:02d}:{mm:02d}:30.25")
    hours = minutes / 60 + np.array([0, 30 / 3600, 0, 30.25 / 3600])[np.arange(n) % 4]
    return cells, hours


def _shop(tmp_path, n=240, seed=0, name="shop.csv", extra=None):
    """A shop's visits: busy from 8 to 18, whatever the temperature."""
    rng = np.random.default_rng(seed)
    cells, hours = _clock(rng, n)
    if extra:
        for row, cell in extra.items():
            cells[row] = cell
    temp = rng.normal(20, 5, n)
    lines = ["time,temp,busy"] + [
        f"{c},{t:.1f},{int(8 <= h < 18)}" for c, t, h in zip(cells, temp, hours)
    ]
    return _write(tmp_path, "\n".join(lines) + "\n", name), hours, temp


@pytest.mark.parametrize(
    "text, hours",
    [
        ("8:15", 8.25),
        ("08:15", 8.25),
        (" 17:40:05 ", 17 + 40 / 60 + 5 / 3600),
        ("08:15:30.5", 8.25 + 30.5 / 3600),
        ("08:15:30,5", 8.25 + 30.5 / 3600),
        ("8:15 PM", 20.25),
        ("8:15pm", 20.25),
        ("8:15 p.m.", 20.25),
        ("12:00 AM", 0.0),
        ("12:30 pm", 12.5),
        ("0:00", 0.0),
        ("23:59:59", 23 + 59 / 60 + 59 / 3600),
        ("24:00", 24.0),
        ("24:00:00", 24.0),
    ],
)
def test_times_of_day_as_hours_since_midnight(text, hours):
    assert parse_time(text) == (pytest.approx(hours, abs=1e-12), "")


@pytest.mark.parametrize(
    "text, why",
    [
        ("25:10", "hour 25 is past 23"),
        ("24:30", "24:00 is the end of a day"),
        ("13:15 PM", "hour 13 with PM"),
        ("0:30 AM", "hour 0 with AM"),
        ("8:61", "minute 61 is past 59"),
        ("8:15:60", "second 60 is past 59"),
        ("8.15", "not written H:MM"),
        ("noon", "not written H:MM"),
        ("2024-03-01 08:15", "not written H:MM"),
    ],
)
def test_what_is_not_a_time_of_day_says_why(text, why):
    value, reason = parse_time(text)
    assert value is None and why in reason


def test_a_column_of_times_is_a_used_feature_read_as_hours(tmp_path):
    path, hours, temp = _shop(tmp_path)
    data = load_csv(path, target="busy")
    assert data.columns == ["time", "temp"]  # before: ['temp'], time left out as an identifier
    assert data.schema["time"].role == "time" and data.schema["time"].type == "time"
    assert data.preprocessor.columns[0] == {"name": "time", "kind": "time"}
    np.testing.assert_allclose(data.X[:, 0], hours, rtol=1e-6)
    note = next(n for n in data.notes if n.startswith("time: times of day"))
    assert "hours since midnight" in note
    assert not any(n.startswith("left out") for n in data.notes)
    # scaled like any numeric feature
    pre = data.preprocessor.fit(data.X)
    assert pre.mean[0] == pytest.approx(hours.mean(), rel=1e-6)
    assert pre.std[0] == pytest.approx(hours.std(), rel=1e-5)


def test_the_hour_is_learnt(tmp_path):
    path, hours, _ = _shop(tmp_path, n=400)
    data = load_csv(path, target="busy")
    pre = data.preprocessor.fit(data.X)
    X = pre.transform(data.X, dtype=np.float32)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = cr.optim.Adam(model.parameters(), lr=0.05)
    cr.fit(
        model,
        (X, data.y.reshape(-1, 1).astype(np.float32)),
        nn.BCEWithLogitsLoss(),
        opt,
        epochs=150,
        batch_size=400,
        verbose=False,
    )
    with cr.no_grad():
        predicted = model(cr.tensor(X)).numpy().reshape(-1) > 0
    assert (predicted == (data.y == 1)).mean() > 0.9  # with temp alone: about 0.6


def test_missing_cells_among_times(tmp_path):
    extra = {3: "", 10: "NA", 17: "NaT", 24: "n.a."}
    path, hours, _ = _shop(tmp_path, extra=extra)
    with pytest.raises(cr.DataError, match=r"line 5, column 1 \('time'\): missing value"):
        load_csv(path, target="busy")
    data = load_csv(path, target="busy", impute="mean")
    info = data.schema["time"]
    assert info.role == "time" and info.missing == 4
    assert "'NaT' (1x)" in info.reason and "'n.a.' (1x)" in info.reason
    known = np.ones(len(hours), bool)
    known[list(extra)] = False
    fill = data.preprocessor.columns[0]["fill"]
    assert fill == pytest.approx(hours[known].mean(), rel=1e-6)
    np.testing.assert_allclose(data.X[known, 0], hours[known], rtol=1e-6)
    np.testing.assert_allclose(data.X[~known, 0], fill, rtol=1e-6)


@pytest.mark.parametrize(
    "stray, words",
    [
        ("closed", "'closed' is not a time of day (not written H:MM"),
        ("25:10", "'25:10' is not a time of day (hour 25 is past 23; a duration"),
        ("8", "'8' is not a time of day (not written H:MM"),
    ],
)
def test_one_stray_cell_among_times_is_an_error_pointing_at_it(tmp_path, stray, words):
    path, _, _ = _shop(tmp_path, extra={41: stray})
    with pytest.raises(cr.DataError) as caught:
        load_csv(path, target="busy")
    message = str(caught.value)
    assert "line 43, column 1 ('time')" in message and words in message
    assert "categorical=['time']" in message
    data = load_csv(path, target="busy", categorical=["time"])  # the way out it names
    assert data.preprocessor.columns[0]["kind"] == "categorical"


def test_many_words_among_times_are_left_out_by_name(tmp_path):
    extra = {k: "closed" for k in range(0, 240, 4)}  # a quarter of the rows
    path, _, _ = _shop(tmp_path, extra=extra)
    data = load_csv(path, target="busy")
    assert data.columns == ["temp"]
    assert data.schema["time"].role == "mixed"
    note = next(n for n in data.notes if n.startswith("left out"))
    assert "time (times of day with 60 cell(s) that are not ('closed' (60x))" in note
    with pytest.raises(cr.DataError, match=r"'time'.*'closed' \(60x\).*write those cells empty"):
        load_csv(path, target="busy", features=["time", "temp"])


def test_times_chosen_as_categories_keep_a_note(tmp_path):
    path, _, _ = _shop(tmp_path)
    data = load_csv(path, target="busy", categorical=["time"])
    assert data.preprocessor.columns[0]["kind"] == "categorical"
    note = next(n for n in data.notes if n.startswith("time: values like"))
    assert "leave the column out of categorical=" in note


def test_a_few_shift_times_are_times_too(tmp_path):
    rows = ["start,temp,busy"] + [
        f"{['06:00', '14:00', '22:00'][i % 3]},{i % 7},{int(i % 3 == 1)}" for i in range(60)
    ]
    data = load_csv(_write(tmp_path, "\n".join(rows) + "\n"), target="busy")
    assert data.preprocessor.columns[0]["kind"] == "time"
    assert sorted(set(data.X[:, 0].tolist())) == [6.0, 14.0, 22.0]


def test_a_target_of_times_is_read_as_before(tmp_path):
    rows = ["x,start"] + [f"{i % 7},{['06:00', '14:00', '22:00'][i % 3]}" for i in range(60)]
    data = load_csv(_write(tmp_path, "\n".join(rows) + "\n"), target="start")
    assert data.task == "multiclass" and data.class_names == ["06:00", "14:00", "22:00"]


def _trained(tmp_path):
    path, _, _ = _shop(tmp_path)
    data = load_csv(path, target="busy", impute="mean")
    return data.preprocessor.fit(data.X)


def test_new_rows_are_read_the_same_way_and_refuse_what_is_not_a_time(tmp_path):
    pre = _trained(tmp_path)
    new = _write(tmp_path, "busy,temp,time\n1,20.0,9:30 PM\n0,18.5,07:45:00\n0,19,\n", "new.csv")
    X = pre.transform_file(new)
    hours = np.array([21.5, 7.75, pre.columns[0]["fill"]])
    np.testing.assert_allclose(X[:, 0], (hours - pre.mean[0]) / pre.std[0], atol=1e-6)
    same = load_csv(new, preprocessor=pre, target="busy")
    np.testing.assert_allclose(same.X[:, 0], [21.5, 7.75, hours[2]], rtol=1e-6)
    bad = _write(tmp_path, "time,temp\n08:00,20\nclosed,21\n", "bad.csv")
    with pytest.raises(cr.DataError, match=r"bad.csv: line 3, column 1 \('time'\): 'closed' is"):
        pre.transform_file(bad)
    late = _write(tmp_path, "time,temp\n24:30,20\n", "late.csv")
    with pytest.raises(cr.DataError, match=r"line 2, column 1 \('time'\): '24:30' .*end of a day"):
        pre.transform_file(late)
    # rows in Python: raw cells and a DataFrame by name
    raw = pre.transform([["9:30 PM", "20.0"]])
    np.testing.assert_allclose(raw[0], X[0], rtol=1e-9)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"temp": [20.0], "time": ["21:30"]})
    np.testing.assert_allclose(pre.transform(frame)[0], X[0], rtol=1e-9)


def test_the_description_round_trips_through_json_and_a_saved_model(tmp_path):
    pre = _trained(tmp_path)
    state = json.loads(json.dumps(pre.to_dict()))
    assert state["columns"][0] == {"name": "time", "kind": "time", "fill": pre.columns[0]["fill"]}
    back = Preprocessor.from_dict(state)
    assert back.columns == pre.columns
    new = _write(tmp_path, "time,temp\n9:30 PM,20\n00:00:01,30\n", "new.csv")
    np.testing.assert_array_equal(back.transform_file(new), pre.transform_file(new))
    model = nn.Sequential(nn.Linear(2, 1))
    cr.save(model, tmp_path / "m.safetensors", metadata={"preprocessing": pre.to_dict()})
    loaded = Preprocessor.from_dict(cr.load(tmp_path / "m.safetensors").metadata["preprocessing"])
    np.testing.assert_array_equal(loaded.transform_file(new), pre.transform_file(new))
    state["columns"][0]["fill"] = "noon"
    with pytest.raises(cr.DataError, match="column 'time': fill must be a number"):
        Preprocessor.from_dict(state)


@pytest.mark.parametrize("stamp", ["2024-03-01 08:15:00", "2024-03-01T08:15:00"])
def test_date_times_chosen_as_features_keep_their_time_as_a_fraction_of_a_day(tmp_path, stamp):
    rows = ["when,x,y"] + [
        f"{stamp[:8]}{1 + i % 28:02d}{stamp[10:]},{i % 5 * 1.5},{i % 2}" for i in range(40)
    ]
    path = _write(tmp_path, "\n".join(rows) + "\n")
    data = load_csv(path, target="y")
    assert data.columns == ["x"]  # dates stay left out unless chosen
    data = load_csv(path, target="y", features=["when", "x"])
    assert data.preprocessor.columns[0]["kind"] == "date"
    day = np.datetime64("2024-03-01").astype(np.int64)
    assert data.X[0, 0] == pytest.approx(day + 8.25 / 24, abs=2e-3)  # float32: about 3 min
    exact = data.preprocessor.encode([[stamp, "0"]])
    assert exact[0, 0] == pytest.approx(day + 8.25 / 24, abs=1e-9)
    note = next(n for n in data.notes if n.startswith("when: dates with a time of day"))
    assert "column of its own" in note and "drop=['when']" in note


def test_nat_among_numbers_is_a_missing_cell(tmp_path):
    rows = ["x,y"] + [f"{'NaT' if i in (5, 9) else i / 10},{i % 2}" for i in range(60)]
    path = _write(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(cr.DataError, match=r"line 7, column 1 \('x'\): missing value"):
        load_csv(path, target="y")  # before: "'NaT' is not a number"
    data = load_csv(path, target="y", impute="mean")
    assert data.X[5, 0] == data.X[9, 0] == pytest.approx(data.preprocessor.columns[0]["fill"])
    words = ["NaT", "nat", "other"]
    rows = ["w,y"] + [f"{words[i % 3]},{i % 2}" for i in range(60)]  # words: a category
    data = load_csv(_write(tmp_path, "\n".join(rows) + "\n", "w.csv"), target="y")
    assert data.preprocessor.columns[0]["categories"] == ["NaT", "nat", "other"]


def test_the_command_line_trains_on_the_hour_and_predicts_new_rows(tmp_path, capsys):
    from chainrule.cli.main import main

    path, _, _ = _shop(tmp_path, n=300)
    model = tmp_path / "m.safetensors"
    args = ["train", path, "--target", "busy", "--epochs", "5", "--layers", "8"]
    code = main([str(a) for a in [*args, "--no-plots", "--seed", "0", "--out", model]])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "time: times of day, read as hours since midnight" in out + err
    new = _write(tmp_path, "temp,time\n20,9:30 PM\n21,10:15\n", "new.csv")
    code = main(["predict", str(model), str(new)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(out.strip().splitlines()) == 3  # a header and two rows
    bad = _write(tmp_path, "temp,time\n20,9:30 PM\n21,soon\n", "bad.csv")
    assert main(["predict", str(model), str(bad)]) != 0
    err = capsys.readouterr().err
    assert "line 3, column 2 ('time'): 'soon' is not a time of day" in err
    pytest.importorskip("onnx")
    assert main(["export", str(model), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "column 'time' is a time-of-day feature" in capsys.readouterr().err


def test_times_named_numeric_are_hours_too(tmp_path):
    path, hours, _ = _shop(tmp_path)
    data = load_csv(path, target="busy", numeric=["time"])
    assert data.preprocessor.columns[0]["kind"] == "time"
    np.testing.assert_allclose(data.X[:, 0], hours, rtol=1e-6)
    data = load_csv(path, target="busy", features=["time"])
    assert data.columns == ["time"] and data.preprocessor.columns[0]["kind"] == "time"
