"""Every command that writes a file checks its path first, as ``train`` does: never over one
of its own inputs, never into a folder it cannot write, and new folders are created."""

import os

import pytest
from cli_helpers import write_classification_csv

from chainrule.cli.main import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    data = write_classification_csv(folder / "d.csv", n=60)
    model, run = folder / "m.safetensors", folder / "run"
    args = ["train", data, "--target", "species", "--epochs", "1", "--no-plots"]
    assert main([str(a) for a in [*args, "--out", model, "--checkpoint-dir", run]]) == 0
    return data, model, run


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _unwritable_folder():
    """A folder this process cannot create files in, even as root (which ignores mode bits)."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc, where no one can create files")
    return "/proc"


def test_out_of_every_writing_command_is_never_its_own_input(tmp_path, capsys, trained):
    """explain --out the model or data, export --onnx the model, report --out the run's
    backup or run.json: refused in one line, the files untouched (they were overwritten)."""
    data, model, run = trained
    backup, record = run / "backup.safetensors", run / "run.json"
    before = {p: p.read_bytes() for p in (data, model, backup, record)}
    cases = [
        ("explain", model, "--data", data, "--out", model),
        ("explain", model, "--data", data, "--out", data),
        ("export", model, "--onnx", model),
        ("report", run, "--out", backup),
        ("report", run, "--out", record),
    ]
    for args in cases:
        code, _, err = _cli(capsys, *args)
        assert code == 2 and "is the input file" in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in before} == before


def test_a_folder_or_unwritable_place_is_refused_before_any_work(tmp_path, capsys, trained):
    """A folder as --out named a temporary file in the error; an unwritable folder (as root:
    os.access says yes) failed only after training, naming a temporary file."""
    data, model, run = trained
    bad = _unwritable_folder()
    code, out, err = _cli(
        capsys, "train", data, "--target", "species", "--epochs", "1", "--no-plots",
        "--out", f"{bad}/m.safetensors",
    )  # fmt: skip
    assert code == 2 and "Training" not in out and bad in err and ".tmp" not in err
    for args in [
        ("explain", "--example", "seed", "--out", tmp_path),
        ("explain", "--example", "seed", "--out", f"{bad}/x.txt"),
        ("report", run, "--out", f"{bad}/r.html"),
        ("demo", "--no-explain", "--epochs", "1", "--out", data),
    ]:
        code, out, err = _cli(capsys, *args)
        assert code == 2 and ".tmp" not in err and "Errno" not in err, (args, err)
        assert "Training" not in out and len(err.strip().splitlines()) == 1


def test_missing_folders_of_an_output_are_created(tmp_path, capsys, trained):
    """predict and explain failed with 'file not found: .../.p.csv.tmp-...' where train made
    the folders."""
    data, model, _ = trained
    predictions = tmp_path / "new" / "deeper" / "p.csv"
    code, _, err = _cli(capsys, "predict", model, data, "--out", predictions)
    assert code == 0, err
    assert predictions.is_file()
    report = tmp_path / "other" / "mazur.md"
    code, _, err = _cli(capsys, "explain", "--example", "mazur", "--format", "md", "--out", report)
    assert code == 0, err
    assert report.read_text().startswith("#")
