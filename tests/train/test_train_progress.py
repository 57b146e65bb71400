"""What fit prints: plain lines off a terminal, a rich bar on one, nothing when asked."""

import io
import re
import subprocess
import sys

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.progress import Progress

COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7]|38;)")


def _fit(epochs=3, **kw):
    X, y = cr.datasets.xor()
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    return cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=epochs,
        batch_size=2,
        **kw,
    )


def test_plain_lines_when_stdout_is_not_a_terminal(capsys):
    h = _fit(validation_data=cr.datasets.xor())
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 and "\x1b" not in out
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3 - ")
        assert f"loss: {h.history['loss'][i]:.4f}" in line
        assert f"val_accuracy: {h.history['val_accuracy'][i]:.4f}" in line


def test_verbose_false_prints_nothing(capsys):
    _fit(verbose=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal_and_no_colour_with_NO_COLOR(monkeypatch):
    for no_color in (False, True):
        if no_color:
            monkeypatch.setenv("NO_COLOR", "1")
        else:
            monkeypatch.delenv("NO_COLOR", raising=False)
        screen = _Terminal()
        monkeypatch.setattr(sys, "stdout", screen)
        _fit(epochs=2)
        monkeypatch.setattr(sys, "stdout", sys.__stdout__)
        out = screen.getvalue()
        assert "Epoch 1/2 - " in out and "Epoch 2/2 - " in out  # the summary lines stay
        assert "━" in out and "eta" in out  # the bar was drawn
        assert bool(COLOUR.search(out)) is not no_color


def test_running_numbers_are_computed_only_when_shown():
    calls = []

    def logs():
        calls.append(1)
        return {"loss": 0.5}

    p = Progress("bar", stream=_Terminal(), refresh=3600)
    p.train_begin(1, 100)
    p.epoch_begin(0)
    for b in range(100):
        p.batch_end(b, logs)
    p.epoch_end(0, {"loss": 0.4, "time": 1.0})
    p.train_end()
    assert len(calls) == 2  # the first batch and the last one


def test_lines_mode_does_not_import_rich_or_matplotlib():
    code = (
        "import sys, chainrule as cr\n"
        "from chainrule import nn, optim\n"
        "X, y = cr.datasets.xor()\n"
        "m = nn.Sequential(nn.Linear(2, 1))\n"
        "cr.fit(m, (X, y), nn.BCEWithLogitsLoss(), optim.SGD(m.parameters(), lr=0.1), epochs=1)\n"
        "print(sorted(k for k in ('rich', 'matplotlib') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"
    assert np.isfinite(float(out.stdout.split("loss: ")[1].split()[0]))
