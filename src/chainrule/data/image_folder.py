"""A folder of images, one subfolder per class, as NCHW arrays (torchvision's ``ImageFolder``
layout): ``root/cat/1.png``, ``root/dog/2.jpg``. Read with Pillow (the ``[images]`` extra),
imported only when a folder or an image is read."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule.data.dataset import TensorDataset
from chainrule.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderData", "load_image", "load_image_folder"]

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".gif", ".tif", ".tiff", ".webp",
    ".avif", ".heic", ".heif", ".ppm", ".pgm", ".pbm",
)  # fmt: skip
# Files and folders that operating systems, archivers and NAS boxes put next to photos: never
# images of a class, left out without a note (as hidden files are). @eaDir holds a Synology
# box's JPEG thumbnails of each photo, which would otherwise be read as more photos.
_SYSTEM_NAMES = frozenset(
    ("thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", "__macosx", "@eadir", "$recycle.bin",
     "system volume information")
)  # fmt: skip
_HEIF = (".heic", ".heif")  # iPhone photos: Pillow reads them with the pillow-heif plugin
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
class ImageFolderData(TensorDataset):
    """Images of a class-per-subfolder tree as arrays, with what was done to read them.

    It is also the dataset of its images and labels, as torchvision's ``ImageFolder``:
    ``len(data)``, ``data[i]`` (an image and its label) and ``DataLoader(data, batch_size=32,
    shuffle=True)`` or ``cr.fit(model, data, ...)`` work as with a ``TensorDataset(X, y)``.

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
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)``: the fields of each sample, as a TensorDataset holds them."""
        return self.X, self.y

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
    pair = (size, size) if isinstance(size, (int, np.integer)) else size
    pair = tuple(pair) if isinstance(pair, (tuple, list, np.ndarray)) else (pair,)  # 4.5: refused
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(f"size must be a positive int or a pair (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def _register_heif() -> None:
    """Let Pillow open HEIC/HEIF photos when the ``pillow-heif`` plugin is installed."""
    try:
        import pillow_heif
    except ImportError:
        return
    pillow_heif.register_heif_opener()


def _open(path: str):
    """The image at ``path``, decoded and upright (EXIF orientation applied)."""
    Image, ImageOps = _pillow()
    if path.lower().endswith(_HEIF):
        _register_heif()
    with Image.open(path) as img:
        img.load()  # decode now: a truncated or corrupt file fails here, not later
        _refuse_float_pixels(img)
        if img.mode == "P" and isinstance(img.info.get("transparency"), bytes):
            # a palette with an alpha per entry: Pillow warns on every convert() but this one
            img = img.convert("RGBA")
        return ImageOps.exif_transpose(img)


def _refuse_float_pixels(img) -> None:
    """A floating-point image (Pillow mode ``F``: scientific TIFFs, depth maps) has no fixed
    range: Pillow's conversion clips it to 0..255, so values in [0, 1] read as black. Only
    whole values in 0..255 are read as they are."""
    if img.mode != "F":
        return
    a = np.asarray(img)
    if np.isfinite(a).all() and a.min() >= 0 and a.max() <= 255 and (a == np.rint(a)).all():
        return
    raise ValueError(
        f"it holds 32-bit floating-point pixels (values {a.min():.4g} to {a.max():.4g}), "
        f"which have no fixed range; save it as an 8-bit image, e.g. values in [0, 1] as "
        f"np.uint8(np.rint(np.clip(a, 0, 1) * 255))"
    )


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
        raise DataError(f"{path}: {unreadable(path, err)}") from None


def unreadable(path: str, err: Exception) -> str:
    """Why Pillow could not read ``path``, in words: empty, a HEIC photo without the plugin,
    or Pillow's own reason (a truncated or corrupt file)."""
    try:
        if os.path.getsize(path) == 0:
            return "is empty (0 bytes), not an image"
    except OSError:
        pass
    if path.lower().endswith(_HEIF) and "cannot identify" in str(err):
        return (
            "is a HEIC/HEIF photo, which Pillow reads only with the pillow-heif plugin "
            "(pip install pillow-heif), or convert it to JPEG"
        )
    return f"cannot be read as an image ({err})"


def _eight_bit(img):
    """A 16-bit grayscale image as 8-bit ``L``: 0..65535 scaled to 0..255. Pillow's own
    ``convert("L")`` clips at 255, which turns nearly every pixel of such a scan white.
    ``I;16`` is 16-bit by its mode; a 32-bit ``I`` image (how older Pillow opened 16-bit PNGs)
    is read as 16-bit when a value exceeds 255, else as the 8-bit values it holds."""
    Image, _ = _pillow()
    if img.mode.startswith("I;16") or (img.mode == "I" and img.getextrema()[1] > 255):
        a = np.asarray(img).astype(np.float64)
        return Image.fromarray(np.clip(np.rint(a / 257.0), 0, 255).astype(np.uint8), "L")
    return img


def _pixels(img, size: tuple[int, int], mode: str) -> np.ndarray:
    Image, _ = _pillow()
    img = _eight_bit(img).convert(mode)
    if (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / np.float32(255)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _is_gray(img) -> bool:
    if img.mode in _GRAY_MODES or img.mode.startswith("I;16"):
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
    """Not a hidden file (.DS_Store, ._AppleDouble, .git, .ipynb_checkpoints) nor a system
    one (Thumbs.db, desktop.ini, __MACOSX, @eaDir)."""
    return not name.startswith(".") and name.lower() not in _SYSTEM_NAMES


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
    root,
    size=None,
    mode: str | None = None,
    skip_bad: bool = False,
    allow_empty: bool = False,
    max_side: int | None = None,
    progress=None,
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
        max_side: with ``size=None``, shrink the most common size (keeping its aspect ratio)
            so that its longer side is at most this many pixels, with a note; ``None`` keeps
            it (``chainrule train`` passes 64: photos train on a CPU in seconds per epoch).
        progress: ``progress(done, total)`` is called before each file is read and once at
            the end (``chainrule train`` shows it while a large folder loads).

    Each image is decoded upright (EXIF orientation applied) and brought to ``size`` at once,
    so only the resized arrays are held. 16-bit grayscale (``I;16``) is scaled to 8 bits.
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
    if max_side is not None and (isinstance(max_side, bool) or not int(max_side) >= 1):
        raise ValueError(f"max_side must be a positive int or None, got {max_side!r}")
    base = Path(os.fspath(root))
    notes: list[str] = []
    classes, files, labels = _find(base, allow_empty, notes)
    chosen, common = size is None, None  # the most common size: a note when some differ
    if chosen:
        size, common = _default_size(files, max_side, notes)
    read = _read(base, files, labels, size, mode, skip_bad, notes, progress)
    counts = Counter(label for _, label in read.kept)
    empty = [classes[i] for i in range(len(classes)) if counts[i] == 0]
    if empty and not allow_empty:
        raise DataError(
            f"{base}: class(es) {', '.join(empty)} have no readable image left; fix the files "
            f"or pass allow_empty=True"
        )
    if empty:
        notes.append(f"class(es) with no image: {', '.join(empty)}")
    if not read.kept:
        raise DataError(f"{base}: no readable image in any class folder")
    gray = sum(read.gray)
    if mode is None:
        mode = "L" if gray == len(read.kept) else "RGB"
        if mode == "RGB" and gray:
            notes.append(
                f"converted {gray} grayscale image(s) to RGB (the others have colour); "
                f"mode='L' reads every image as grayscale"
            )
    notes += _size_notes(read, size, chosen, common)
    # a gray image read as one channel stands for its RGB copy: the same grey in each
    X = np.stack([np.repeat(a, 3, axis=0) if len(a) < len(mode) else a for a in read.arrays])
    y = np.asarray([label for _, label in read.kept], dtype=np.int64)
    return ImageFolderData(X, y, classes, [p for p, _ in read.kept], size, mode, notes)


def _size_notes(read, size, chosen: bool, common) -> list[str]:
    """Notes on what reading changed: transparency dropped, images of another size resized
    (to the most common size, or with it when ``max_side`` shrank it)."""
    notes = []
    if read.alpha:  # convert() drops it: a transparent pixel takes the colour stored under it
        notes.append(f"dropped the transparency of {read.alpha} image(s) (pixels kept as stored)")
    if common is not None and common != size:  # shrunk: photos of another shape stretch
        others = len(read.kept) - read.sizes[common]
        if others:
            notes.append(
                f"{others} image(s) not of {common[0]}×{common[1]} (another shape, e.g. "
                f"portrait among landscape) were resized to {size[0]}×{size[1]} too; pass "
                f"size=(H, W) to choose"
            )
    elif chosen and read.resized:
        notes.append(
            f"resized {read.resized} image(s) of other sizes to {size[0]}×{size[1]} (height × "
            f"width, the most common size); pass size=(H, W) to choose"
        )
    return notes


def _header_size(path: str) -> tuple[int, int] | None:
    """``(height, width)`` as the image is shown (EXIF orientation applied), from the file's
    header alone; ``None`` if Pillow cannot open it (reading it later says why)."""
    Image, _ = _pillow()
    try:
        with Image.open(path) as img:
            h, w = img.height, img.width
            turned = img.getexif().get(0x0112) in (5, 6, 7, 8)  # a quarter turn swaps them
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a bad file
        return None
    return (w, h) if turned else (h, w)


def _default_size(files: list[str], max_side, notes: list) -> tuple:
    """The size most images have (from their headers), shrunk to ``max_side`` pixels on its
    longer side when it is larger, keeping its aspect ratio; and that most common size."""
    sizes = Counter(s for s in map(_header_size, files) if s is not None)
    if not sizes:
        return None, None  # nothing readable: _read raises or leaves everything out
    h, w = sizes.most_common(1)[0][0]
    if max_side is None or max(h, w) <= max_side:
        return (h, w), (h, w)
    scale = int(max_side) / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    notes.append(
        f"resized the images to {size[0]}×{size[1]} (height × width): the most common size, "
        f"{h}×{w}, shrunk to at most {int(max_side)} pixels a side (max_side) to keep training "
        f"fast; pass size=(H, W) to choose"
    )
    return size, (h, w)


@dataclass
class _Read:
    """What :func:`_read` found: each kept image as ``(C, H, W)`` float32 (C = 1 for a gray
    image when no mode was given) with its ``(path, label)`` and whether it is gray, and the
    counts of images resized and with transparency."""

    arrays: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    gray: list = field(default_factory=list)
    resized: int = 0
    sizes: Counter = field(default_factory=Counter)  # as decoded, before resizing
    alpha: int = 0


def _read(base: Path, files, labels, size, mode, skip_bad: bool, notes: list, progress) -> _Read:
    """Decode each file and bring it to ``size`` at once, so that only the small arrays are
    held (a folder of photos decoded whole would take gigabytes); unreadable files raise or
    are noted."""
    out, bad = _Read(), []
    for done, (path, label) in enumerate(zip(files, labels)):
        if progress is not None:
            progress(done, len(files))
        try:
            img = _open(path)
        except ImportError:
            raise
        except Exception as err:  # noqa: BLE001 - Pillow raises many kinds for a bad file
            if not skip_bad:
                raise DataError(
                    f"{path}: {unreadable(path, err)}; remove or replace the file, or pass "
                    f"skip_bad=True to leave such files out"
                ) from None
            bad.append(path)
            continue
        gray = _is_gray(img)
        target = size or (img.height, img.width)  # no readable header: the first image's size
        size = target
        out.resized += (img.height, img.width) != target
        out.sizes[img.height, img.width] += 1
        out.alpha += _has_alpha(img)
        out.arrays.append(_pixels(img, target, mode or ("L" if gray else "RGB")))
        out.kept.append((path, label))
        out.gray.append(gray)
    if progress is not None:
        progress(len(files), len(files))
    if bad:
        notes.append(f"left out {len(bad)} file(s) that could not be read: {_few(bad, base)}")
    return out


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
    # torchvision ignores images beside the class folders; they belong to no class, so say so
    loose = sorted(
        str(p) for p in base.iterdir()
        if p.is_file() and _visible(p.name) and p.name.lower().endswith(IMAGE_EXTENSIONS)
    )
    if loose:
        notes.append(
            f"left out {len(loose)} image(s) lying directly in {base}, in no class folder: "
            f"{_few(loose, base)}; move them into the subfolder of their class"
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


def _few(paths: list[str], base: Path, k: int = 3) -> str:
    shown = [os.path.relpath(p, base) for p in paths[:k]]
    return ", ".join(shown) + (f" and {len(paths) - k} more" if len(paths) > k else "")
