"""Folders of images for ``chainrule train``, ``predict`` and ``evaluate``: read with the
library's image reader, its Python hints (``skip_bad=True``) reworded as the command's flags."""

from __future__ import annotations

import hashlib
import os

import numpy as np

from chainrule.cli.errors import CLIError

MODES = {"gray": "L", "rgb": "RGB"}
#: Without --image-size, photos larger than this (on their longer side) are shrunk to it,
#: keeping their shape: 200 photos of 640×480 train in about 0.8 s an epoch at 48×64 on one
#: core, against 41-44 s at 224×224 (docs/cnn.md).
DEFAULT_MAX_SIDE = 64

# The library's hints name its keyword arguments; the command's users need its flags.
_HINTS = (
    ("or pass skip_bad=True to leave such files out", "or pass --skip-bad-images to leave it out"),
    ("; fix the files or pass allow_empty=True", "; fix or remove those files"),
    (", remove the folder, or pass allow_empty=True", " or remove the folder"),
    ("pass size=(H, W) to choose", "--image-size H,W chooses"),
    ("mode='L' reads every image as grayscale", "--image-mode gray reads every image as gray"),
    (" a side (max_side) to keep", " a side to keep"),
)


def cli_hints(message: str) -> str:
    for python, flag in _HINTS:
        message = message.replace(python, flag)
    return message


def is_image_path(path) -> bool:
    from chainrule.data.image_folder import IMAGE_EXTENSIONS

    return os.fspath(path).lower().endswith(IMAGE_EXTENSIONS)


def require_pillow() -> None:
    """Pillow (the ``[images]`` extra) present, else one line saying how to install it."""
    from chainrule.data.image_folder import _pillow

    try:
        _pillow()
    except ImportError as err:
        raise CLIError(str(err)) from None


def parse_image_size(text) -> tuple[int, int] | None:
    """``--image-size 32`` or ``32,24`` / ``32x24`` (height, width)."""
    if text is None:
        return None
    parts = str(text).lower().replace("×", ",").replace("x", ",").split(",")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or not all(1 <= s <= 4096 for s in sizes):
        raise CLIError(
            f"--image-size must be one size or height,width between 1 and 4096, like 32 or "
            f"32,24; got {text!r}"
        )
    return (sizes[0], sizes[-1])


def load_folder(args) -> dict:
    """The training images of ``args.csv`` (a folder, one subfolder per class): the fields of
    :class:`~chainrule.cli.training_data.TrainingData`, with an unfitted ImagePreprocessor."""
    from chainrule.data import ImagePreprocessor, load_image_folder
    from chainrule.errors import DataError

    folder = os.fspath(args.csv)
    if args.target:
        raise CLIError(
            f"{folder}: --target is for CSV files; in a folder of images the classes are the "
            f"subfolder names"
        )
    require_pillow()
    size = parse_image_size(getattr(args, "image_size", None))
    mode = MODES.get(getattr(args, "image_mode", None))
    try:
        data = load_image_folder(
            folder,
            size=size,
            mode=mode,
            skip_bad=bool(getattr(args, "skip_bad_images", False)),
            max_side=DEFAULT_MAX_SIDE,
            progress=ReadingProgress(),
        )
    except DataError as err:
        raise CLIError(cli_hints(str(err))) from None
    if len(data.class_names) < 2:
        raise CLIError(
            f"{folder}: only one class folder ({data.class_names[0]!r}); a classifier needs two "
            f"or more: add a subfolder of images per class, e.g. {os.path.join(folder, 'other')}"
        )
    task = "binary" if len(data.class_names) == 2 else "multiclass"
    pre = ImagePreprocessor(data.size, data.mode)
    return dict(
        X=data.X,
        y=data.y,
        task=task,
        classes=list(data.class_names),
        preprocessor=pre,
        feature_names=None,
        target_name="class",
        source={"images": os.path.basename(os.path.normpath(folder))},
        digest=_files_digest(folder, data.paths, data.y),
        columns=None,
        notes=[cli_hints(n) for n in data.notes],
    )


class ReadingProgress:
    """``reading images: 500 of 2000 (5 s)`` every ``every`` seconds while a folder loads, so
    a folder of photos is not a silent wait; a folder read in less prints nothing."""

    def __init__(self, every: float = 5.0, clock=None, stream=None):
        import time

        self.every, self.clock, self.stream = every, clock or time.monotonic, stream
        self.start = self.next = None

    def __call__(self, done: int, total: int) -> None:
        import sys

        now = self.clock()
        if self.start is None:
            self.start, self.next = now, now + self.every
        if now >= self.next and done < total:
            self.next = now + self.every
            print(
                f"reading images: {done} of {total} ({now - self.start:.0f} s)",
                file=self.stream or sys.stdout,
                flush=True,
            )


def _files_digest(root: str, paths: list[str], y) -> str:
    """The bytes of every file read, with its place and class: the same folder, the same hash."""
    digest = hashlib.sha256()
    for path, label in zip(paths, y):
        digest.update(f"{os.path.relpath(path, root)}\0{int(label)}\0".encode())
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def image_files(inputs: list[str], reads: str, notes: list | None = None) -> list[str]:
    """Image files named on the command line, a folder standing for every image under it;
    ``reads`` (``8×8 grayscale``) says what the model reads, for the errors. Other files in a
    folder are skipped with a note added to ``notes``, as ``train`` does (hidden and system
    files such as .DS_Store and Thumbs.db without one)."""
    from chainrule.data.image_folder import _class_files

    files, others = [], []
    for item in inputs:
        if os.path.isdir(item):
            found, other = _class_files(item)
            if not found:
                raise CLIError(f"{item}: no image files in this folder")
            files += found
            others += other
        elif not os.path.exists(item):
            raise CLIError(f"file not found: {item}")
        elif is_image_path(item):
            files.append(item)
        else:
            raise CLIError(
                f"{item}: not an image file (by its extension); this model reads {reads} "
                f"images: give image files or folders of them"
            )
    if others and notes is not None:
        notes.append(f"skipped {len(others)} file(s) that are not images: {_few(others)}")
    return files


def _few(paths: list[str], k: int = 3) -> str:
    return ", ".join(paths[:k]) + (f" and {len(paths) - k} more" if len(paths) > k else "")


def read_images(
    pre, files: list[str], skip_bad: bool = False, flag: bool = True, notes=()
) -> tuple[np.ndarray, list[str]]:
    """The files read and standardised as in training, and the files read (all of them, or
    without the unreadable ones with ``skip_bad``); ``notes`` and notes about the files on
    stderr once they are read (an error stays one line). ``flag``: the command has
    ``--skip-bad-images``, which an unreadable file's error then names."""
    import sys

    from chainrule.errors import DataError

    require_pillow()
    try:
        X, read_notes, kept = pre.read_files(files, skip_bad=skip_bad)
    except DataError as err:
        hint = ", or pass --skip-bad-images to leave it out" if flag else ""
        raise CLIError(f"{err}; remove or replace the file{hint}") from None
    for note in [*notes, *read_notes]:
        print(f"note: {note}", file=sys.stderr)
    if not kept:
        raise CLIError(f"none of the {len(files)} image file(s) could be read")
    return pre.transform(X), kept


def labelled_folder(
    pre, folder: str, classes: list[str], skip_bad: bool = False, flag: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A class-per-subfolder folder read for ``evaluate``: inputs and the training's class
    indices; a class not seen in training is an error naming it."""
    from pathlib import Path

    from chainrule.data.image_folder import _find
    from chainrule.data.messages import first_few
    from chainrule.errors import DataError

    if not os.path.isdir(folder):
        raise CLIError(
            f"{folder}: this model reads images; evaluate needs a folder with one subfolder "
            f"per class ({', '.join(classes[:3])}, ...)"
        )
    notes: list[str] = []
    try:
        names, files, labels = _find(Path(folder), True, notes)
    except DataError as err:
        raise CLIError(cli_hints(str(err))) from None
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise CLIError(
            f"{folder}: class folder(s) {first_few(unknown)} were not seen in training (known: "
            f"{first_few(classes)})"
        )
    if not files:
        raise CLIError(f"{folder}: no image files in its class folders")
    lookup = {name: classes.index(name) for name in names}
    truth = {path: lookup[names[i]] for path, i in zip(files, labels)}
    X, kept = read_images(pre, files, skip_bad, flag, notes)  # notes: files that are not images
    return X, np.array([truth[path] for path in kept], dtype=np.int64)
