"""chainrule predict on a file without a header reads it by the training file's layout.

Trained on label,id,a,b, a headerless id,a,b was read by place as a, b and the target:
the predictions came from the id, written with exit 0."""

import numpy as np
from cli_helpers import run_cli

import chainrule as cr


def _train(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 80), rng.normal(5, 3, 80)
    label = np.where(a > 0, "yes", "no")
    rows = "".join(f"{c},{i + 1},{x:.3f},{y:.3f}\n" for i, (x, y, c) in enumerate(zip(a, b, label)))
    (tmp_path / "train.csv").write_text("label,id,a,b\n" + rows)
    model = tmp_path / "m.safetensors"
    result = run_cli(
        "train", str(tmp_path / "train.csv"), "--target", "label", "--out", str(model),
        "--no-plots", "--epochs", "40",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return model


def test_headerless_rows_by_the_training_layout(tmp_path):
    model = _train(tmp_path)
    (tmp_path / "all.csv").write_text("no,7,2.0,5.0\nno,8,-2.0,5.0\n")
    result = run_cli("predict", str(model), str(tmp_path / "all.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["1,yes", "2,no"]
    (tmp_path / "no_target.csv").write_text("7,2.0,5.0\n8,-2.0,5.0\n")
    result = run_cli("predict", str(model), str(tmp_path / "no_target.csv"))
    assert result.returncode == 2
    assert "could be (a, b, label) or (id, a, b); add a header line" in result.stderr


def test_models_saved_before_file_columns_use_their_schema(tmp_path):
    model = _train(tmp_path)
    loaded = cr.load(model)
    meta = dict(loaded.metadata)
    meta["preprocessing"] = {k: v for k, v in meta["preprocessing"].items() if k != "file_columns"}
    old = tmp_path / "old.safetensors"
    cr.save(loaded, old, metadata=meta)
    (tmp_path / "no_target.csv").write_text("7,2.0,5.0\n8,-2.0,5.0\n")
    result = run_cli("predict", str(old), str(tmp_path / "no_target.csv"))
    assert result.returncode == 2 and "could be (a, b, label) or (id, a, b)" in result.stderr
