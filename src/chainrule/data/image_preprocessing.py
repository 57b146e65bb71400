"""How ``chainrule train`` turns image files into a CNN's input: a size, a colour mode and a
per-channel mean and standard deviation learned on the training images. Saved with the model
(``to_dict``), so ``predict`` and ``evaluate`` read new images exactly as training did."""

from __future__ import annotations

import os

import numpy as np

from chainrule.errors import DataError

__all__ = ["ImagePreprocessor"]

_FORMAT = "chainrule.image_preprocessor"
_VERSION = 1
_MODES = {"L": "grayscale", "RGB": "RGB"}


class ImagePreprocessor:
    """Reads images at one size and colour mode and standardises each channel.

    Args:
        size: ``(height, width)`` every image is resized to (bilinear) when it differs.
        mode: ``"L"`` (grayscale, 1 channel) or ``"RGB"`` (3 channels).
        mean, std: per-channel statistics of the training pixels in [0, 1]; set by :meth:`fit`.

    Shape:
        :meth:`transform` takes and returns ``(N, C, H, W)``.

    Example:
        >>> import numpy as np
        >>> pre = ImagePreprocessor((2, 2), "L").fit(np.array([[[[0.0, 1.0], [0.0, 1.0]]]]))
        >>> pre.transform(np.ones((1, 1, 2, 2))).ravel().tolist()
        [1.0, 1.0, 1.0, 1.0]
    """

    format = _FORMAT

    def __init__(self, size, mode: str, mean=None, std=None):
        if mode not in _MODES:
            raise DataError(f"ImagePreprocessor: mode must be 'L' or 'RGB', got {mode!r}")
        height, width = (int(v) for v in size)
        if height < 1 or width < 1:
            raise DataError(f"ImagePreprocessor: size must be positive, got {size!r}")
        self.size, self.mode = (height, width), mode
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        for name, value in (("mean", self.mean), ("std", self.std)):
            shape_ok = value is None or value.shape == (self.channels,)
            if not shape_ok or (value is not None and not np.isfinite(value).all()):
                raise DataError(
                    f"ImagePreprocessor: {name} must hold {self.channels} finite number(s)"
                )
        if self.std is not None and (self.std <= 0).any():
            raise DataError("ImagePreprocessor: std must be positive")

    @property
    def channels(self) -> int:
        return 1 if self.mode == "L" else 3

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def describe(self) -> str:
        """``8×8 grayscale`` / ``32×32 RGB``: what the model reads, for messages."""
        return f"{self.size[0]}×{self.size[1]} {_MODES[self.mode]}"

    def fit(self, X: np.ndarray) -> ImagePreprocessor:
        """Learn each channel's mean and standard deviation from training images in [0, 1]."""
        X = np.asarray(X, dtype=np.float64)
        self._check(X)
        self.mean = X.mean(axis=(0, 2, 3))
        std = X.std(axis=(0, 2, 3))
        self.std = np.where(std > 1e-6, std, 1.0)  # a constant channel is kept, not divided by 0
        return self

    def transform(self, X: np.ndarray, dtype=np.float32) -> np.ndarray:
        """``(X − mean) / std`` per channel, as ``dtype``."""
        if not self.fitted:
            raise DataError("ImagePreprocessor: call fit(X) on the training images first")
        X = np.asarray(X)
        self._check(X)
        out = (X - self.mean[:, None, None]) / self.std[:, None, None]
        return out.astype(dtype, copy=False)

    def fit_target(self, y) -> None:  # the table preprocessor's hook; images are classified
        raise DataError("ImagePreprocessor: images are classified; there is no target to scale")

    def read(self, paths, skip_bad: bool = False) -> tuple[np.ndarray, list[str]]:
        """Image files as ``(N, C, H, W)`` float32 in [0, 1], converted and resized as the
        training images were, and notes saying what had to be changed.

        Args:
            paths: the image files.
            skip_bad: leave out files that cannot be read (with a note; :meth:`read_files`
                also says which were kept) instead of raising.

        Raises:
            DataError: a file is missing or not an image, naming it.
        """
        X, notes, _ = self.read_files(paths, skip_bad)
        return X, notes

    def read_files(self, paths, skip_bad: bool = False):
        """:meth:`read`, plus the paths read, in the order of the images."""
        from chainrule.data.image_folder import _has_alpha, _is_gray, _open_file, _pixels

        images, kept, bad, resized, to_gray, to_rgb, alpha = [], [], [], 0, 0, 0, 0
        for path in map(os.fspath, paths):
            try:
                img = _open_file(path)
            except DataError:
                if not skip_bad:
                    raise
                bad.append(path)
                continue
            resized += (img.height, img.width) != self.size
            gray = _is_gray(img)
            to_gray += self.mode == "L" and not gray
            to_rgb += self.mode == "RGB" and gray
            alpha += _has_alpha(img)
            images.append(_pixels(img, self.size, self.mode))
            kept.append(path)
        h, w = self.size
        notes = []
        if bad:
            shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            notes.append(f"left out {len(bad)} file(s) that could not be read: {shown}")
        if resized:
            notes.append(f"resized {resized} image(s) to {h}×{w} (height × width), as in training")
        if to_gray:
            notes.append(f"converted {to_gray} colour image(s) to grayscale: the model reads gray")
        if to_rgb:
            notes.append(f"converted {to_rgb} grayscale image(s) to RGB: the model reads colour")
        if alpha:
            notes.append(f"dropped the transparency of {alpha} image(s) (pixels kept as stored)")
        if not images:
            return np.zeros((0, self.channels, h, w), np.float32), notes, kept
        return np.stack(images), notes, kept

    def _check(self, X: np.ndarray) -> None:
        want = (self.channels, *self.size)
        if X.ndim != 4 or X.shape[1:] != want:
            raise DataError(
                f"ImagePreprocessor: expected images of shape (N, {', '.join(map(str, want))}), "
                f"got {X.shape}"
            )

    def to_dict(self) -> dict:
        """A JSON-serialisable description, for saving with a model."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "size": list(self.size),
            "mode": self.mode,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict) -> ImagePreprocessor:
        """Rebuild from :meth:`to_dict`'s output; raises ``DataError`` if it is malformed."""
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise DataError("ImagePreprocessor.from_dict: not a chainrule image preprocessor")
        if state.get("version") != _VERSION:
            raise DataError(
                f"ImagePreprocessor.from_dict: unsupported version {state.get('version')!r}"
            )
        try:
            size = state["size"]
            if not isinstance(size, list) or len(size) != 2:
                raise TypeError("size must be [height, width]")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
                raise TypeError("size must hold integers")
            return cls(size, state["mode"], state.get("mean"), state.get("std"))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"ImagePreprocessor.from_dict: malformed description ({err})") from None


def is_image_preprocessing(state) -> bool:
    """Whether a saved ``preprocessing`` entry describes images (else a table)."""
    return isinstance(state, dict) and state.get("format") == _FORMAT
