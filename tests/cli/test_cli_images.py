"""`chainrule train FOLDER`: a folder of images, one subfolder per class, trained into a CNN
that `predict`, `evaluate`, `info` and `export` use with the preprocessing saved in the file."""

import html
import json
import os
import re

import numpy as np
import pytest
from tests.cli.cli_helpers import run_cli

import chainrule as cr

Image = pytest.importorskip("PIL.Image")

ENV = {"OPENBLAS_NUM_THREADS": "1"}


def write_lines(root, n=30, size=8, seed=0):
    """8×8 grayscale pictures of one bright line on noise: horizontal or vertical."""
    rng = np.random.default_rng(seed)
    for name in ("horizontal", "vertical"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.uniform(0, 60, (size, size))
            k = rng.integers(0, size)
            if name == "horizontal":
                pixels[k, :] += 190
            else:
                pixels[:, k] += 190
            Image.fromarray(pixels.astype(np.uint8), "L").save(root / name / f"{i}.png")
    return root


def flat(text):
    """Text with its line wrapping undone (say() wraps to the terminal's width)."""
    return " ".join(text.split())


def _one_line_error(run, *needles):
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("lines")
    write_lines(root / "pics")
    out = root / "lines.safetensors"
    train = run_cli(
        "train", root / "pics", "--epochs", "12", "--out", out, "--no-plots", "--report",
        root / "report.html", cwd=root, env=ENV,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    return root, out, train


def test_train_on_a_folder_then_predict_and_evaluate(trained):
    root, out, train = trained
    assert "Conv2d(1, 16" in train.stdout and "8×8 grayscale images" in train.stdout
    final = [line for line in train.stdout.splitlines() if "final val_accuracy" in line]
    assert final and float(final[0].split()[-1]) > 0.9, train.stdout
    meta = cr.load(out).metadata
    assert meta["classes"] == ["horizontal", "vertical"] and meta["target"] == "class"
    assert meta["preprocessing"]["format"] == "chainrule.image_preprocessor"
    assert meta["image"] == {"size": [8, 8], "mode": "L"}

    # fresh pictures, never seen in training: one file, a folder, and a list
    fresh = write_lines(root / "fresh", n=10, seed=1)
    one = run_cli("predict", out, fresh / "vertical" / "3.png", "--proba", env=ENV)
    assert one.returncode == 0, one.stderr
    header, row = one.stdout.strip().splitlines()
    assert header == "file,predicted_class,horizontal,vertical"
    assert row.split(",")[1] == "vertical" and float(row.split(",")[3]) > 0.5
    folder = run_cli("predict", out, fresh, env=ENV)
    rows = [line.split(",") for line in folder.stdout.strip().splitlines()[1:]]
    assert len(rows) == 20 and all(len(r) == 2 for r in rows)
    right = sum(os.path.basename(os.path.dirname(f)) == label for f, label in rows)
    assert right >= 18, folder.stdout
    listed = run_cli(
        "predict", out, fresh / "horizontal" / "0.png", fresh / "vertical", "--out",
        root / "p.csv", env=ENV,
    )  # fmt: skip
    assert listed.returncode == 0 and "11 predictions written" in listed.stdout
    evaluate = run_cli("evaluate", out, fresh, env=ENV)
    assert evaluate.returncode == 0, evaluate.stderr
    accuracy = [line for line in evaluate.stdout.splitlines() if line.startswith("accuracy")]
    assert float(accuracy[0].split()[-1]) >= 0.9, evaluate.stdout
    info = run_cli("info", out, env=ENV)
    assert info.returncode == 0 and "8×8 grayscale images" in info.stdout, info.stderr
    # the run report's explained sample names its class (was the bare index)
    report = html.unescape(html.unescape((root / "report.html").read_text()))
    assert re.search(r"Target t = [01] \(class '(horizontal|vertical)'\)", report)


def test_export_takes_the_images_the_model_reads(trained, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    root, out, _ = trained
    run = run_cli("export", out, "--onnx", tmp_path / "full.onnx", env=ENV)
    assert run.returncode == 0, run.stderr
    assert "input 'image': uint8 pixels 0-255, N×H×W×C = N×8×8×1" in run.stdout
    session = onnxruntime.InferenceSession(str(tmp_path / "full.onnx"))
    pixels = np.asarray(Image.open(root / "pics" / "vertical" / "0.png"))[None, :, :, None]
    labels, _ = session.run(None, {"image": pixels})
    assert list(labels) == ["vertical"]
    run = run_cli("export", out, "--onnx", tmp_path / "x.onnx", "--input-shape", "1,4,4", env=ENV)
    _one_line_error(run, "--input-shape: this model of images", "--network-only")  # was ignored
    # --network-only: the bare CNN, on standardised N×C×H×W input (tests/onnx/ checks the rest)
    run = run_cli("export", out, "--onnx", tmp_path / "m.onnx", "--network-only", env=ENV)
    assert run.returncode == 0, run.stderr
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    x = np.random.default_rng(0).normal(size=(1, 1, 8, 8)).astype(np.float32)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, cr.predict(cr.load(out), x), rtol=1e-4, atol=1e-5)


def test_predict_reads_other_sizes_and_modes_as_training_did(trained):
    root, out, _ = trained
    pixels = np.full((16, 12, 4), 40, np.uint8)
    pixels[:, 5, :3] = (250, 200, 120)  # a vertical line in colour, with an alpha channel
    Image.fromarray(pixels, "RGBA").save(root / "big.png")
    run = run_cli("predict", out, root / "big.png", env=ENV)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[1] == f"{root / 'big.png'},vertical"
    assert "resized 1 image(s) to 8×8 (height × width), as in training" in run.stderr
    assert "converted 1 colour image(s) to grayscale" in run.stderr
    assert "dropped the transparency of 1 image(s)" in run.stderr


def test_explain_an_image_with_its_class_name(trained):
    root, out, _ = trained
    one = run_cli("explain", out, "--data", root / "pics" / "vertical" / "3.png", env=ENV)
    assert one.returncode == 0, one.stderr
    assert "Target t = 1 (class 'vertical')." in one.stdout and "1 sample;" in flat(one.stdout)
    row = run_cli("explain", out, "--data", root / "pics", "--row", "2", env=ENV)
    assert row.returncode == 0 and "Target t = 0 (class 'horizontal')." in row.stdout
    (root / "loose.png").write_bytes((root / "pics" / "vertical" / "3.png").read_bytes())
    # an image in no class folder was refused; its prediction is explained instead
    run = run_cli("explain", out, "--data", root / "loose.png", "--format", "json", env=ENV)
    assert run.returncode == 0 and "in no folder named after a class" in run.stderr, run.stderr
    report = json.loads(run.stdout)
    assert report["notes"][0].startswith("No target was given, so E is not a loss")
    assert "target" not in {node["op"] for node in report["graph"]}


def test_wrong_kind_of_data_for_the_model(trained, tmp_path):
    root, out, _ = trained
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    run = run_cli("predict", out, tmp_path / "rows.csv", env=ENV)
    _one_line_error(run, "not an image file", "8×8 grayscale images")
    (tmp_path / "test" / "cat").mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "test" / "cat" / "1.png")
    run = run_cli("evaluate", out, tmp_path / "test", env=ENV)
    _one_line_error(run, "'cat'", "not seen in training", "horizontal")
    csv = tmp_path / "train.csv"
    csv.write_text("x,y\n" + "".join(f"{i % 7 * 0.5},{i % 2}\n" for i in range(40)))
    table_model = tmp_path / "t.safetensors"
    assert run_cli(
        "train", csv, "--target", "y", "--epochs", "1", "--out", table_model, "--no-plots",
        env=ENV,
    ).returncode == 0  # fmt: skip
    run = run_cli("predict", table_model, root / "pics" / "vertical" / "0.png", env=ENV)
    _one_line_error(run, "this is an image", "reads rows of a CSV file")


def test_folder_problems_are_one_line_naming_the_fix(tmp_path):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "dog").mkdir(parents=True)
    run = run_cli("train", tmp_path / "empty", cwd=tmp_path)
    _one_line_error(run, "holds no images", "add images or remove the folder")
    assert "allow_empty" not in run.stderr

    (tmp_path / "loose").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "loose" / "a.png")
    run = run_cli("train", tmp_path / "loose", cwd=tmp_path)
    _one_line_error(run, "no class folders", "1 image file(s) directly", "loose/cat/1.png")

    write_lines(tmp_path / "one", n=3)
    (tmp_path / "one" / "vertical" / "0.png").unlink()
    for extra in (tmp_path / "one" / "vertical").iterdir():
        extra.unlink()
    (tmp_path / "one" / "vertical").rmdir()
    run = run_cli("train", tmp_path / "one", cwd=tmp_path)
    _one_line_error(run, "only one class folder ('horizontal')", "add a subfolder")

    write_lines(tmp_path / "bad", n=6)
    (tmp_path / "bad" / "vertical" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    run = run_cli("train", tmp_path / "bad", "--epochs", "1", "--no-plots", cwd=tmp_path)
    _one_line_error(run, "broken.png: cannot be read as an image", "--skip-bad-images")
    assert "skip_bad=True" not in run.stderr
    run = run_cli(
        "train", tmp_path / "bad", "--skip-bad-images", "--epochs", "1", "--no-plots",
        "--out", tmp_path / "m.safetensors", cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "note: left out 1 file(s) that could not be read: vertical/broken.png" in run.stdout


def test_mixed_sizes_and_modes_are_read_alike_with_notes(tmp_path):
    pics = write_lines(tmp_path / "pics", n=8)
    Image.new("RGB", (10, 10), (200, 30, 30)).save(pics / "vertical" / "red.png")
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(pics / "horizontal" / "clear.png")
    run = run_cli(
        "train", pics, "--epochs", "1", "--dry-run", cwd=tmp_path, env=ENV
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "converted 17 grayscale image(s) to RGB" in run.stdout
    assert "--image-mode gray reads every image as gray" in run.stdout
    assert "resized 1 image(s) of other sizes to 8×8" in run.stdout
    assert "--image-size H,W chooses" in run.stdout
    assert "dropped the transparency of 1 image(s)" in run.stdout
    assert "on 14 images (8×8 RGB)" in flat(run.stdout) and "Conv2d(3, 16" in run.stdout
    run = run_cli("train", pics, "--activation", "tanh", "--dry-run", cwd=tmp_path, env=ENV)
    assert run.returncode == 0 and run.stdout.count("Tanh()") == 2, run.stdout  # was ignored
    run = run_cli(
        "train", pics, "--image-mode", "gray", "--image-size", "6", "--model", "mlp",
        "--layers", "8", "--epochs", "1", "--dry-run", cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (
        "14 images (6×6 grayscale)" in flat(run.stdout)
        and "Linear(in_features=36, out_features=8" in run.stdout
    )


def test_flags_for_the_other_kind_of_data_and_sizes_too_small(tmp_path):
    pics = write_lines(tmp_path / "pics", n=4)
    run = run_cli("inspect", pics, cwd=tmp_path)  # was "is a folder, not a file"
    _one_line_error(run, "inspect reads CSV files", "--dry-run")
    run = run_cli("train", pics, "--impute", "mean", cwd=tmp_path)
    _one_line_error(run, "--impute: only for a CSV file")
    run = run_cli("train", pics, "--target", "y", cwd=tmp_path)
    _one_line_error(run, "--target is for CSV files", "subfolder names")
    run = run_cli("train", "--dataset", "moons", "--image-size", "8", cwd=tmp_path)
    _one_line_error(run, "--image-size: only for a folder of images")
    run = run_cli("train", pics, "--layers", "8,8,8,8", "--dry-run", cwd=tmp_path)
    _one_line_error(run, "4 pooling steps halve 8×8 images to nothing", "--image-size")
    run = run_cli("train", pics, "--image-size", "0", cwd=tmp_path)
    _one_line_error(run, "--image-size must be one size or height,width")


def test_missing_pillow_names_the_extra(trained, tmp_path):
    shim = tmp_path / "shim" / "PIL"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named PIL')\n")
    (tmp_path / "pics" / "cat").mkdir(parents=True)
    (tmp_path / "pics" / "dog").mkdir(parents=True)
    (tmp_path / "pics" / "cat" / "1.png").write_bytes(b"")
    path = os.pathsep.join([str(tmp_path / "shim"), os.environ.get("PYTHONPATH", "")])
    env = {"PYTHONPATH": path}
    run = run_cli("train", tmp_path / "pics", "--no-plots", cwd=tmp_path, env=env)
    _one_line_error(run, "reading images needs Pillow", 'pip install "chainrule[images]"')
    root, out, _ = trained
    run = run_cli("predict", out, root / "pics" / "vertical", env=env)
    _one_line_error(run, "reading images needs Pillow", 'pip install "chainrule[images]"')


def test_image_preprocessor_round_trip_and_checks():
    from chainrule.data import ImagePreprocessor

    X = np.random.default_rng(0).uniform(0, 1, (5, 3, 4, 6))
    pre = ImagePreprocessor((4, 6), "RGB").fit(X)
    again = ImagePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    out = again.transform(X)
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    constant = ImagePreprocessor((1, 1), "L").fit(np.full((3, 1, 1, 1), 0.5))
    assert constant.std.tolist() == [1.0]  # a constant channel is not divided by zero
    with pytest.raises(cr.DataError, match="expected images of shape"):
        pre.transform(X[:, :1])
    with pytest.raises(cr.DataError, match="malformed"):
        ImagePreprocessor.from_dict({**pre.to_dict(), "size": [4]})


def test_image_classifier_widths_fit_the_size():
    from chainrule.models import image_classifier, image_classifier_widths

    assert image_classifier_widths((8, 8)) == (16, 32)
    assert image_classifier_widths((2, 9)) == (16,)
    assert image_classifier_widths((64, 64)) == (16, 32, 64)
    model = image_classifier(3, (32, 24), 5, widths=image_classifier_widths((32, 24)))
    assert model(cr.tensor(np.zeros((2, 3, 32, 24), np.float32))).shape == (2, 5)


def test_a_class_with_one_image_is_named_in_images_not_rows(tmp_path):
    pics = write_lines(tmp_path / "pics", n=6)
    for extra in list((pics / "vertical").iterdir())[1:]:
        extra.unlink()
    run = run_cli("train", pics, "--epochs", "1", "--no-plots", cwd=tmp_path, env=ENV)
    _one_line_error(run, "class(es) 'vertical' have a single image each", "add images")
    assert "row" not in run.stderr
