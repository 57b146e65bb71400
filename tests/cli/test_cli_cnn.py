"""`chainrule train --model cnn`: a CNN on image rows, trained, saved, inspected and used."""

from tests.cli.cli_helpers import run_cli

import chainrule as cr


def test_train_cnn_on_digits_then_info_and_evaluate(tmp_path):
    out = tmp_path / "digits.safetensors"
    env = {"OPENBLAS_NUM_THREADS": "1"}
    train = run_cli(
        "train", "--dataset", "digits", "--model", "cnn", "--epochs", "2", "--out", out,
        "--no-plots", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert "Conv2d(1, 32" in train.stdout and "Unflatten" in train.stdout
    info = run_cli("info", out, env=env)
    assert info.returncode == 0 and "Conv2d" in info.stdout and "BatchNorm2d" in info.stdout
    final = [line for line in train.stdout.splitlines() if "final val_accuracy" in line]
    assert final and float(final[0].split()[-1]) > 0.9, train.stdout
    X, y = cr.datasets.digits()
    header = ",".join(f"x{i + 1}" for i in range(64))
    rows = [",".join(f"{v:g}" for v in row) for row in X[:20]]
    (tmp_path / "pixels.csv").write_text("\n".join([header, *rows]) + "\n")
    predict = run_cli("predict", out, tmp_path / "pixels.csv", "--proba", env=env)
    assert predict.returncode == 0, predict.stderr
    lines = predict.stdout.strip().splitlines()
    assert lines[0].startswith("line,predicted_") and len(lines[0].split(",")) == 12
    assert len(lines) == 21
    predicted = [int(line.split(",")[1]) for line in lines[1:]]
    assert sum(p == t for p, t in zip(predicted, y[:20])) >= 17
    model = cr.load(out)
    assert type(model[1]).__name__ == "Conv2d" and model[1].weight.shape == (32, 1, 3, 3)


def test_cnn_needs_square_images(tmp_path):
    run = run_cli("train", "--dataset", "moons", "--model", "cnn", "--epochs", "1", cwd=tmp_path)
    assert run.returncode != 0
    assert "square images" in run.stderr and "--dataset digits" in run.stderr


def test_a_folder_of_images_is_read_not_refused(tmp_path):
    # was "is a folder, not a file (expected a CSV file)" and then a pointer to the Python
    # route: `chainrule train FOLDER` now reads it (tests/cli/test_cli_images.py)
    (tmp_path / "pets" / "cat").mkdir(parents=True)
    for extra, needle in (([], "holds no images"), (["--target", "y"], "--target is for CSV")):
        run = run_cli("train", tmp_path / "pets", "--model", "cnn", *extra, cwd=tmp_path)
        assert run.returncode == 2
        assert needle in run.stderr and "cr.data.load_image_folder(" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
