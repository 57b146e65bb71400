"""Output paths are checked before training; only regular files are ever replaced."""

import os

import numpy as np
import pytest
from cli_helpers import write_classification_csv

from chainrule.cli.main import main


@pytest.fixture()
def data(tmp_path):
    return write_classification_csv(tmp_path / "d.csv", n=60)


def _train(capsys, data, *extra):
    args = ["train", data, "--target", "species", "--epochs", "1", "--no-plots", *extra]
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fifo_and_folder_are_refused_before_training(tmp_path, capsys, data):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, out, err = _train(capsys, data, "--out", fifo)
    assert code == 2 and "named pipe" in err and str(fifo) in err and "Training" not in out
    assert len(err.strip().splitlines()) == 1
    folder = tmp_path / "existing"
    folder.mkdir()
    code, _, err = _train(capsys, data, "--out", folder)
    assert code == 2 and "is a folder" in err
    code, _, err = _train(capsys, data, "--out", "/dev/null", "--overwrite")
    assert code == 2 and "character device" in err


def test_trailing_slash_is_a_folder_and_models_are_not_silently_replaced(tmp_path, capsys, data):
    code, out, err = _train(capsys, data, "--out", f"{tmp_path}/runs/")
    assert code == 0, err
    model = tmp_path / "runs" / "model.safetensors"
    assert model.is_file() and str(model) in out
    before = model.read_bytes()
    code, out, err = _train(capsys, data, "--out", model, "--seed", "3")
    assert code == 2 and "--overwrite" in err and "Training" not in out
    assert model.read_bytes() == before
    code, _, err = _train(capsys, data, "--out", model, "--seed", "3", "--overwrite")
    assert code == 0, err and model.read_bytes() != before


def test_resume_without_a_checkpoint_starts_fresh(tmp_path, capsys, data):
    ckpt = tmp_path / "ckpt"
    code, out, err = _train(
        capsys, data, "--out", tmp_path / "m.safetensors", "--checkpoint-dir", ckpt, "--resume"
    )
    assert code == 0, err
    assert "holds no checkpoint yet; starting a fresh run" in out


def test_a_failed_plot_is_a_warning_when_the_model_is_saved(tmp_path, capsys, data):
    (tmp_path / "m-plots").write_text("a file where the plot folder should go")
    code, out, err = main_train_with_plots(capsys, data, tmp_path / "m.safetensors")
    assert code == 0 and (tmp_path / "m.safetensors").is_file()
    assert "warning: plots not written" in err


def main_train_with_plots(capsys, data, out):
    args = ["train", data, "--target", "species", "--epochs", "1", "--out", out]
    code = main([str(a) for a in args])
    o, e = capsys.readouterr()
    return code, o, e


def test_predict_refuses_non_finite_outputs_and_float32_overflow(tmp_path, capsys, data):
    import chainrule as cr

    model = tmp_path / "m.safetensors"
    assert _train(capsys, data, "--out", model)[0] == 0
    big = tmp_path / "big.csv"
    big.write_text("height,weight,colour\n1e39,0.5,red\n")
    assert main(["predict", str(model), str(big)]) == 2
    err = capsys.readouterr().err
    assert "line 2, column 1 ('height')" in err and "too large" in err
    broken = cr.load(model)
    for p in broken.parameters():
        np.asarray(p.data)[...] = np.nan
    cr.save(broken, tmp_path / "nan.safetensors", metadata=broken.metadata)
    code = main(["predict", str(tmp_path / "nan.safetensors"), str(data)])
    out, err = capsys.readouterr()
    assert code != 0 and "not a finite number" in err and "nan" not in out.lower()


def test_out_is_never_one_of_the_commands_own_input_files(tmp_path, capsys, data):
    """predict --out the model or the CSV it reads, train --out its data (even with
    --overwrite), or --report the model: refused before any work, the inputs untouched."""
    model = tmp_path / "m.safetensors"
    code, _, err = _train(capsys, data, "--out", model)
    assert code == 0, err
    model_bytes, data_bytes = model.read_bytes(), open(data, "rb").read()
    for out in (model, data, f"{tmp_path}/./{os.path.basename(data)}"):
        code = main(["predict", str(model), str(data), "--out", str(out)])
        _, err = capsys.readouterr()
        assert code == 2 and "is the input file" in err
    code, out, err = _train(capsys, data, "--out", data, "--overwrite")
    assert code == 2 and "is the input file" in err and "Training" not in out
    code, out, err = _train(capsys, data, "--out", model, "--overwrite", "--report", model)
    assert code == 2 and "is the input file" in err
    assert model.read_bytes() == model_bytes and open(data, "rb").read() == data_bytes
    predictions = tmp_path / "p.csv"
    assert main(["predict", str(model), str(data), "--out", str(predictions)]) == 0
    assert predictions.read_text().count("\n") == 61


def test_too_few_rows_to_hold_out_a_validation_part_names_the_classes_and_the_way_out(
    tmp_path, capsys
):
    data = tmp_path / "three.csv"
    data.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    out = tmp_path / "m.safetensors"
    args = ["train", str(data), "--target", "label", "--epochs", "1", "--no-plots"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'y' (line 3) have a single row" in err and "--validation-split 0" in err
    assert "train_test_split" not in err and not out.exists()
    assert main([*args, "--out", str(out), "--validation-split", "0"]) == 0
    assert out.is_file()


def test_a_validation_part_too_small_for_every_class_names_the_splits_that_fit(tmp_path, capsys):
    # before: "choose a test_size between 3 and 7 samples", train_test_split's words
    data = tmp_path / "ten.csv"
    data.write_text("a,label\n" + "".join(f"{i},{'xyz'[i % 3]}\n" for i in range(10)))
    out = tmp_path / "m.safetensors"
    args = ["train", str(data), "--target", "label", "--epochs", "1", "--no-plots"]
    assert main([*args, "--out", str(out), "--validation-split", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "test_size" not in err and not out.exists()
    assert "must hold 3 to 7 rows of 10: --validation-split from 0.3 to 0.7" in err
    for split in ("0.3", "0.7"):
        assert main([*args, "--out", str(out), "--overwrite", "--validation-split", split]) == 0


def test_a_missing_data_path_is_named_before_asking_for_target(tmp_path, capsys):
    # `chainrule train shapes/` with a mistyped folder said "say which column to predict
    # with --target COLUMN", as if it were a CSV file without a target
    for missing in (tmp_path / "shapes", f"{tmp_path / 'shapes'}/"):
        code = main(["train", str(missing), "--epochs", "1", "--no-plots"])
        out, err = capsys.readouterr()
        assert code == 2 and "no such file or folder" in err and "--target" not in err
        assert len(err.strip().splitlines()) == 1
