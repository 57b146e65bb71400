"""What :func:`chainrule.fit` shows while it trains.

* On a terminal: a rich progress bar for the current epoch (batches done, running loss and
  metrics, time left in the epoch) under a bar for the whole run (epochs done, time left), and
  one summary line per finished epoch that stays on screen.
* Anywhere else (a log file, a pipe, CI): one plain line per epoch, no control codes.
* ``verbose=False``: nothing at all.

Colour follows the ``NO_COLOR`` convention (https://no-color.org): set it to any value to get
plain text on a terminal too. ``rich`` is imported only when a bar is actually drawn.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["Progress", "format_logs"]


def _format_value(value) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def format_logs(logs: dict, skip=("time",)) -> str:
    """``"loss: 0.4123 - accuracy: 0.8750"`` from a dict of numbers (keys in ``skip`` left out)."""
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items() if k not in skip)


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _mode(verbose) -> str:
    """The display style ``verbose`` asks for, Keras's values included (``2``: one line per
    epoch); anything else is refused rather than read as "show a bar"."""
    if verbose is None or (not isinstance(verbose, str) and verbose in (False, 0)):
        return "silent"
    if verbose in ("bar", "lines"):
        return verbose
    if verbose == 2 and not isinstance(verbose, bool):
        return "lines"
    if verbose in ("auto", True, 1) and not isinstance(verbose, float):
        return "auto"
    raise ValueError(
        f"fit: verbose must be True, False, 'bar', 'lines' or 'auto' (Keras's 0, 1 and 2 are "
        f"silent, auto and lines), got {verbose!r}"
    )


class Progress:
    """Progress display for a training run (used by :func:`chainrule.fit`).

    Args:
        verbose: ``False`` (or ``0``) prints nothing; ``True`` (``1``, ``"auto"``) picks a bar
            on a terminal and plain lines elsewhere; ``"bar"`` or ``"lines"`` (``2``, as in
            Keras: one line per epoch) force one of the two. Other values are a ``ValueError``.
        stream: where to write; default ``sys.stdout`` at the time training starts.
        refresh: seconds between updates of the running numbers in the bar.
    """

    def __init__(self, verbose=True, stream=None, refresh: float = 0.1):
        self.stream = stream
        self.refresh = refresh
        self.mode = _mode(verbose)
        self._bar = None
        self._next_refresh = 0.0

    # ---- lifecycle ------------------------------------------------------------------------
    def train_begin(self, epochs: int, steps: int | None, initial_epoch: int = 0) -> None:
        """Start: ``epochs`` in all (counted from ``initial_epoch``), ``steps`` batches each."""
        if self.mode == "silent":
            return
        if self.stream is None:
            self.stream = sys.stdout
        if self.mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            self.mode = "bar" if isatty is not None and isatty() else "lines"
        self.epochs = epochs
        self.steps = steps
        self.initial_epoch = initial_epoch
        self._train_start = time.perf_counter()
        if self.mode == "bar":
            self._start_bar()

    def epoch_begin(self, epoch: int) -> None:
        if self.mode != "bar":
            return
        progress = self._bar
        progress.reset(self._epoch_task, total=self.steps, description=self._label(epoch))
        progress.update(self._epoch_task, metrics="")
        self._next_refresh = 0.0

    def batch_end(self, batch: int, running_logs) -> None:
        """After batch ``batch`` (0-based); ``running_logs`` is a dict or a function returning one.

        The running numbers are computed and drawn at most every ``refresh`` seconds, so a
        function keeps the cost away from batches that are not shown.
        """
        if self.mode != "bar":
            return
        now = time.perf_counter()
        if now < self._next_refresh and batch + 1 != self.steps:
            self._bar.update(self._epoch_task, completed=batch + 1)
            return
        self._next_refresh = now + self.refresh
        logs = running_logs() if callable(running_logs) else running_logs
        self._bar.update(self._epoch_task, completed=batch + 1, metrics=format_logs(logs))

    def epoch_end(self, epoch: int, logs: dict) -> None:
        if self.mode == "silent":
            return
        line = f"{self._label(epoch)} - {_format_seconds(logs.get('time', 0.0))} - "
        line += format_logs(logs)
        if self.mode == "lines":
            print(line, file=self.stream, flush=True)
            return
        self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self._bar.update(self._run_task, completed=epoch + 1 - self.initial_epoch)

    def train_end(self) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.stop()
            self._bar = None

    def message(self, text: str) -> None:
        """A line for the user outside the per-epoch lines (e.g. early stopping)."""
        if self.mode == "silent":
            return
        if self.mode == "bar" and self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    # ---- helpers --------------------------------------------------------------------------
    def _label(self, epoch: int) -> str:
        width = len(str(self.epochs))
        return f"Epoch {epoch + 1:>{width}}/{self.epochs}"

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        console = Console(file=self.stream, no_color=bool(os.environ.get("NO_COLOR")))
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console,
            transient=True,
        )
        self._run_task = self._bar.add_task(
            "Training", total=self.epochs - self.initial_epoch, metrics=""
        )
        self._epoch_task = self._bar.add_task(
            self._label(self.initial_epoch), total=self.steps, metrics=""
        )
        self._bar.start()
