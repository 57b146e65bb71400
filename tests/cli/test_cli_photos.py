"""`chainrule train FOLDER` on photos: a big default size is shrunk (the run would take many
minutes an epoch at 480×640 in NumPy), and a long load or a long epoch prints how far it is
instead of staying silent."""

import io

import numpy as np
import pytest
from tests.cli.cli_helpers import run_cli

Image = pytest.importorskip("PIL.Image")

ENV = {"OPENBLAS_NUM_THREADS": "1"}


def photos(root, n=4, size=(120, 160)):
    rng = np.random.default_rng(0)
    for c, name in enumerate(("day", "night")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.uniform(0, 60, (*size, 3)) + (150 if c == 0 else 0)
            Image.fromarray(a.astype(np.uint8)).save(root / name / f"IMG_{i}.jpg")
    return root


def test_big_photos_get_a_small_default_size_and_the_flag_still_decides(tmp_path):
    pics = photos(tmp_path / "pics")
    run = run_cli("train", pics, "--dry-run", cwd=tmp_path, env=ENV)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert (
        "note: resized the images to 48×64 (height × width): the most common size, 120×160, "
        "shrunk to at most 64 pixels a side to keep training fast; --image-size H,W chooses"
    ) in text  # was trained at 120×160 (at 480×640: minutes an epoch)
    assert "6 images (48×64 RGB)" in text and "max_side" not in text
    run = run_cli("train", pics, "--image-size", "120,160", "--dry-run", cwd=tmp_path, env=ENV)
    assert run.returncode == 0 and "(120×160 RGB)" in " ".join(run.stdout.split())
    assert "shrunk" not in run.stdout


def test_reading_progress_speaks_only_when_reading_is_slow():
    from chainrule.cli.image_data import ReadingProgress

    now = [0.0]
    out = io.StringIO()
    show = ReadingProgress(every=5.0, clock=lambda: now[0], stream=out)
    for done in range(0, 2001, 100):
        show(done, 2000)
        now[0] += 1.0  # 100 photos a second: 20 s in all
    assert out.getvalue().splitlines() == [
        "reading images: 500 of 2000 (5 s)",
        "reading images: 1000 of 2000 (10 s)",
        "reading images: 1500 of 2000 (15 s)",
    ]
    quiet = io.StringIO()
    fast = ReadingProgress(every=5.0, clock=lambda: 0.0, stream=quiet)
    for done in range(11):
        fast(done, 10)
    assert quiet.getvalue() == ""


def test_a_long_epoch_says_how_far_it_is(capsys):
    from chainrule.cli.train_cmd import _EpochLines

    now = [100.0]
    lines = _EpochLines(3, every=10.0, clock=lambda: now[0])
    lines.params = {"steps": 9}
    lines.on_epoch_begin(0)
    for batch in range(9):
        now[0] += 4.0  # 4 s a batch: the epoch takes 36 s
        lines.on_batch_end(batch, {"loss": 0.5 if batch % 2 else 0.25, "size": 32})
    lines.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    assert capsys.readouterr().out.splitlines() == [  # the last batch: the epoch's own line
        "  epoch 1/3: batch 3/9, loss so far 0.3333 (12 s)",
        "  epoch 1/3: batch 6/9, loss so far 0.375 (24 s)",
        "epoch 1/3  loss 0.5  accuracy 0.75",
    ]
    lines.on_epoch_begin(1)  # a quick epoch: just its line
    for batch in range(9):
        now[0] += 0.1
        lines.on_batch_end(batch, {"loss": 0.4, "size": 32})
    lines.on_epoch_end(1, {"loss": 0.4})
    assert capsys.readouterr().out.splitlines() == ["epoch 2/3  loss 0.4"]


def test_predict_and_evaluate_treat_odd_files_as_train_does(tmp_path):
    pics = photos(tmp_path / "pics", size=(12, 16))
    model = tmp_path / "m.safetensors"
    run = run_cli("train", pics, "--epochs", "1", "--no-plots", "--out", model, env=ENV)
    assert run.returncode == 0, run.stderr
    (pics / "day" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")  # silent
    (pics / "night" / "notes.txt").write_text("tripod")  # noted
    (pics / "night" / "cut.png").write_bytes((pics / "night" / "IMG_0.jpg").read_bytes()[:0])
    run = run_cli("predict", model, pics, env=ENV)  # the empty file: an error naming the flag
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "cut.png: is empty (0 bytes), not an image" in run.stderr
    assert "--skip-bad-images to leave it out" in run.stderr
    run = run_cli("predict", model, pics, "--skip-bad-images", env=ENV)
    assert run.returncode == 0, run.stderr
    rows = run.stdout.strip().splitlines()[1:]
    assert len(rows) == 8 and not any("cut.png" in r or "Thumbs" in r for r in rows)
    assert "note: skipped 1 file(s) that are not images:" in run.stderr  # was silent
    assert "notes.txt" in run.stderr and "Thumbs.db" not in run.stderr
    assert "note: left out 1 file(s) that could not be read:" in run.stderr
    run = run_cli("evaluate", model, pics, env=ENV)
    assert run.returncode == 2 and "--skip-bad-images" in run.stderr, run.stderr
    run = run_cli("evaluate", model, pics, "--skip-bad-images", env=ENV)
    assert run.returncode == 0 and "accuracy" in run.stdout, run.stderr
    assert "night/notes.txt" in run.stderr and "could not be read" in run.stderr
    # info keeps its two columns on 80 characters (the RGB statistics made one long row that
    # turned every row of the table into a "name: value" block)
    run = run_cli("info", model, env={**ENV, "COLUMNS": "80"})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.split() == ["task", "binary"] for line in lines), run.stdout
    assert any(line.startswith("channel mean") and line.count(",") == 2 for line in lines)


def test_out_of_memory_on_a_folder_names_the_image_size(tmp_path, monkeypatch, capsys):
    from chainrule.cli import main as cli_main
    from chainrule.cli import train_cmd

    def no_memory(args):
        raise MemoryError

    monkeypatch.setattr(train_cmd, "load_training_data", no_memory)
    assert cli_main.main(["train", str(photos(tmp_path / "pics", n=1))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err
    assert "a smaller --image-size or --batch-size" in err  # was "use a smaller file"
