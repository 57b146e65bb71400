"""A folder of images, one subfolder per class, as NCHW arrays (torchvision's ``ImageFolder``
layout): ``root/cat/1.png``, ``root/dog/2.jpg``. Read with Pillow (the ``[images]`` extra),
imported only when a folder or an image is read."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderData", "load_image", "load_image_folder"]

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm",
)  # fmt: skip
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # Pillow modes without colour


def _pillow():
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError(
            "reading images needs Pillow, which is not installed: "
            'pip install "chainrule[images]" (or pip install pillow)'
        ) from None
    return Image, ImageOps


@dataclass
class ImageFolderData:
    """Images of a class-per-subfolder tree as arrays, with what was done to read them.

    Attributes:
        X: ``(N, C, H, W)`` float32 pixels in [0, 1] (C = 1 grayscale, 3 RGB).
        y: ``(N,)`` int64 class indices into ``class_names``.
        class_names: the subfolder names, sorted (index = class).
        paths: each image's file, in the order of ``X``.
        size: ``(H, W)`` every image was brought to; mode: ``"L"`` or ``"RGB"``.
        notes: one line per thing worth knowing (files skipped, resized, converted).
    """

    X: np.ndarray
    y: np.ndarray
    class_names: list[str]
    paths: list[str]
    size: tuple[int, int]
    mode: str
    notes: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> dict:
        """What predictions need, for ``cr.save(model, path, metadata=data.metadata)``."""
        return {"classes": list(self.class_names), "image": {"size": list(self.size),
                                                             "mode": self.mode}}  # fmt: skip

    def load_image(self, path) -> np.ndarray:
        """One new image read as the folder's were: ``(C, H, W)`` float32 in [0, 1]."""
        return load_image(path, size=self.size, mode=self.mode)


def _size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"size must be a positive int or a pair (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _open(path: str):
    """The image at ``path``, decoded and upright (EXIF orientation applied)."""
    Image, ImageOps = _pillow()
    with Image.open(path) as img:
        img.load()  # decode now: a truncated or corrupt file fails here, not later
        return ImageOps.exif_transpose(img)


def _open_file(path: str):
    """:func:`_open` for one file the user named: a missing or unreadable file is a
    ``DataError`` naming it (a missing Pillow stays the ImportError naming the extra)."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such image file")
    try:
        return _open(path)
    except ImportError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many kinds for a bad file
        raise DataError(f"{path}: cannot be read as an image ({err})") from None


def _pixels(img, size: tuple[int, int], mode: str) -> np.ndarray:
    Image, _ = _pillow()
    img = img.convert(mode)
    if (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / np.float32(255)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _is_gray(img) -> bool:
    if img.mode in _GRAY_MODES:
        return True
    rgb = np.asarray(img.convert("RGB"))  # a palette or RGB image may hold only greys
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _has_alpha(img) -> bool:
    return "A" in img.getbands() or "transparency" in img.info


def load_image(path, size=None, mode: str = "RGB") -> np.ndarray:
    """One image as ``(C, H, W)`` float32 in [0, 1]: ``mode`` ``"L"`` (C = 1) or ``"RGB"``
    (C = 3), resized to ``size`` (an int or ``(height, width)``) when it differs.

    Example:
        >>> x = cr.data.load_image("new.png", size=(32, 32), mode="RGB")  # doctest: +SKIP
        >>> model(cr.tensor(x[None])).argmax(axis=1)                      # doctest: +SKIP
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' (grayscale) or 'RGB', got {mode!r}")
    img = _open_file(os.fspath(path))
    target = _size(size) or (img.height, img.width)
    return _pixels(img, target, mode)


def _visible(name: str) -> bool:
    return not name.startswith(".")  # .DS_Store, ._AppleDouble, .git, .ipynb_checkpoints


def _class_files(folder: Path) -> tuple[list[str], list[str]]:
    """The image files under ``folder`` (recursively, sorted) and the other visible files."""
    images, others = [], []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for name in sorted(files):
            if not _visible(name):
                continue
            path = os.path.join(parent, name)
            (images if name.lower().endswith(IMAGE_EXTENSIONS) else others).append(path)
    return images, others


def load_image_folder(
    root, size=None, mode: str | None = None, skip_bad: bool = False, allow_empty: bool = False
) -> ImageFolderData:
    """Read ``root/<class>/<image>`` into arrays for a CNN; classes are the sorted subfolders.

    Args:
        root: the folder whose subfolders are the classes (images may sit deeper inside them).
        size: ``(height, width)`` (or one int) to resize every image to. Default: the size
            most images have; the others are resized to it, with a note.
        mode: ``"L"`` (1 channel) or ``"RGB"`` (3). Default: ``"RGB"`` if any image has
            colour, else ``"L"``; grayscale images among colour ones are converted, with a note.
        skip_bad: leave out files Pillow cannot read (with a note) instead of raising.
        allow_empty: keep a class folder that holds no image (its class gets no samples).

    Hidden files and folders (``.DS_Store``) are skipped; other files that are not images
    (by extension) are skipped with a note. Problems raise ``DataError`` naming the file.

    Example:
        >>> data = cr.data.load_image_folder("pets/", size=32)  # doctest: +SKIP
        >>> data.X.shape, data.class_names                       # doctest: +SKIP
        ((120, 3, 32, 32), ['cat', 'dog'])
    """
    if mode not in (None, "L", "RGB"):
        raise ValueError(f"mode must be None, 'L' (grayscale) or 'RGB', got {mode!r}")
    size = _size(size)
    base = Path(os.fspath(root))
    notes: list[str] = []
    classes, files, labels = _find(base, allow_empty, notes)
    images, kept = _read(base, files, labels, skip_bad, notes)
    counts = Counter(label for _, label in kept)
    empty = [classes[i] for i in range(len(classes)) if counts[i] == 0]
    if empty and not allow_empty:
        raise DataError(
            f"{base}: class(es) {', '.join(empty)} have no readable image left; fix the files "
            f"or pass allow_empty=True"
        )
    if empty:
        notes.append(f"class(es) with no image: {', '.join(empty)}")
    if not kept:
        raise DataError(f"{base}: no readable image in any class folder")
    gray = [_is_gray(img) for img in images]
    if mode is None:
        mode = "L" if all(gray) else "RGB"
        if mode == "RGB" and any(gray):
            notes.append(
                f"converted {sum(gray)} grayscale image(s) to RGB (the others have colour); "
                f"mode='L' reads every image as grayscale"
            )
    alpha = sum(_has_alpha(img) for img in images)
    if alpha:  # convert() drops it: a transparent pixel takes the colour stored under it
        notes.append(f"dropped the transparency of {alpha} image(s) (pixels kept as stored)")
    sizes = Counter((img.height, img.width) for img in images)
    if size is None:
        size = sizes.most_common(1)[0][0]
        if len(sizes) > 1:
            notes.append(
                f"resized {len(images) - sizes[size]} image(s) of other sizes to {size[0]}×"
                f"{size[1]} (height × width, the most common size); pass size=(H, W) to choose"
            )
    X = np.stack([_pixels(img, size, mode) for img in images])
    y = np.asarray([label for _, label in kept], dtype=np.int64)
    return ImageFolderData(X, y, classes, [p for p, _ in kept], size, mode, notes)


def _find(base: Path, allow_empty: bool, notes: list) -> tuple[list, list, list]:
    """The class names, the image files and their labels under ``base``."""
    if not base.is_dir():
        raise DataError(f"{base}: not a folder; give the folder whose subfolders are the classes")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir() and _visible(p.name))
    if not classes:
        loose = [p.name for p in base.iterdir() if p.name.lower().endswith(IMAGE_EXTENSIONS)]
        hint = f" (it holds {len(loose)} image file(s) directly)" if loose else ""
        raise DataError(
            f"{base}: no class folders{hint}; put each class's images in a subfolder named "
            f"after the class, e.g. {base}/cat/1.png and {base}/dog/2.png"
        )
    files, labels, others = [], [], []
    for index, name in enumerate(classes):
        found, other = _class_files(base / name)
        others += other
        if not found and not allow_empty:
            raise DataError(
                f"{base / name}: class folder '{name}' holds no images "
                f"({', '.join(IMAGE_EXTENSIONS)}); add images, remove the folder, or pass "
                f"allow_empty=True"
            )
        files += found
        labels += [index] * len(found)
    if others:
        notes.append(f"skipped {len(others)} file(s) that are not images: {_few(others, base)}")
    return classes, files, labels


def _read(base: Path, files: list, labels: list, skip_bad: bool, notes: list) -> tuple:
    """The decoded images and their ``(path, label)``; unreadable files raise or are noted."""
    images, kept, bad = [], [], []
    for path, label in zip(files, labels):
        try:
            images.append(_open(path))
            kept.append((path, label))
        except ImportError:
            raise
        except Exception as err:  # noqa: BLE001 - Pillow raises many kinds for a bad file
            if not skip_bad:
                raise DataError(
                    f"{path}: cannot be read as an image ({err}); remove or replace the "
                    f"file, or pass skip_bad=True to leave such files out"
                ) from None
            bad.append(path)
    if bad:
        notes.append(f"left out {len(bad)} file(s) that could not be read: {_few(bad, base)}")
    return images, kept


def _few(paths: list[str], base: Path, k: int = 3) -> str:
    shown = [os.path.relpath(p, base) for p in paths[:k]]
    return ", ".join(shown) + (f" and {len(paths) - k} more" if len(paths) > k else "")
