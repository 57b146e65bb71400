"""New rows without a header are read by the training file's layout, never guessed wrong.

Trained on ``label,id,a,b`` (id left out), a headerless file ``id,a,b`` was read as
``a,b`` and the target by place: the predictions came from the id and from ``a`` read as
``b``, with no error and no note."""

import numpy as np
import pytest

from chainrule.data import Preprocessor, load_csv
from chainrule.errors import DataError


def _train(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 80), rng.normal(5, 3, 80)
    label = np.where(a > 0, "yes", "no")
    rows = "".join(f"{c},{i + 1},{x:.3f},{y:.3f}\n" for i, (x, y, c) in enumerate(zip(a, b, label)))
    (tmp_path / "train.csv").write_text("label,id,a,b\n" + rows)
    data = load_csv(tmp_path / "train.csv", target="label")
    assert data.feature_names == ["a", "b"]
    # through the saved form, as chainrule predict reads it
    return Preprocessor.from_dict(data.preprocessor.fit(data.X).to_dict())


def test_the_training_layout_is_saved(tmp_path):
    assert _train(tmp_path).file_columns == ["label", "id", "a", "b"]


def test_two_layouts_of_the_same_width_are_an_error(tmp_path):
    pre = _train(tmp_path)
    (tmp_path / "new.csv").write_text("7,0.5,9.0\n8,-0.5,1.0\n")  # id, a, b
    with pytest.raises(
        DataError, match=r"no header and 3 columns.*\(a, b, label\) or \(id, a, b\)"
    ):
        load_csv(tmp_path / "new.csv", preprocessor=pre)


def test_the_full_training_layout_is_read_by_its_names(tmp_path):
    pre = _train(tmp_path)
    (tmp_path / "new.csv").write_text("yes,7,0.5,9.0\nno,8,-0.5,1.0\n")
    data = load_csv(tmp_path / "new.csv", target="label", preprocessor=pre)
    assert data.X.tolist() == [[0.5, 9.0], [-0.5, 1.0]]  # encoded, not yet scaled
    assert data.y.tolist() == [1, 0]


def test_the_features_alone_are_read_in_training_order(tmp_path):
    pre = _train(tmp_path)
    (tmp_path / "new.csv").write_text("0.5,9.0\n-0.5,1.0\n")
    data = load_csv(tmp_path / "new.csv", preprocessor=pre)
    assert data.X.tolist() == [[0.5, 9.0], [-0.5, 1.0]]


def test_a_layout_without_left_out_columns_reads_features_then_target(tmp_path):
    (tmp_path / "train.csv").write_text(
        "a,b,label\n" + "".join(f"{i},{i % 7},{'ny'[i % 2]}\n" for i in range(40))
    )
    pre = load_csv(tmp_path / "train.csv", target="label").preprocessor
    (tmp_path / "new.csv").write_text("3,3,y\n4,4,n\n")
    data = load_csv(tmp_path / "new.csv", target="label", preprocessor=pre)
    assert data.X[:, 0].tolist() == [3.0, 4.0] and data.y.tolist() == [1, 0]


def test_a_bad_file_columns_entry_is_refused():
    state = {"format": "chainrule.preprocessor", "version": 2, "columns": None}
    state.update(standardize=True, file_columns=[1, 2])
    with pytest.raises(DataError, match="file_columns"):
        Preprocessor.from_dict(state)
