"""Read and write the IDX format of MNIST-style files (``train-images-idx3-ubyte[.gz]``).

An IDX file is a 4-byte header (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in row-major order, big-endian. gzip-compressed
files (as MNIST is distributed) are read transparently.
"""

from __future__ import annotations

import gzip
import math
import os
import pathlib

import numpy as np

from chainrule.errors import DataError

__all__ = ["load_idx", "save_idx"]

# type code -> big-endian dtype
_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_BY_KIND = {(d.kind, d.itemsize): code for code, d in _CODES.items()}
MAX_NDIM = 16


def _read_bytes(path: pathlib.Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0)
            if head == b"\x1f\x8b":
                with gzip.open(handle, "rb") as unzipped:
                    return unzipped.read()
            return handle.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read it as an IDX file ({err})") from None


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (MNIST's image and label format), gzip or plain.

    Args:
        path: the file, e.g. ``"train-images-idx3-ubyte.gz"``.

    Returns:
        A native-endian array of the file's type and shape: MNIST's images are uint8 of shape
        (60000, 28, 28) (add a channel axis with ``X[:, None]`` for a CNN), its labels uint8
        of shape (60000,).

    Raises:
        DataError: the file is missing, not IDX (wrong magic bytes), of an unknown type code,
            or its size disagrees with its header (truncated or with trailing bytes).

    Example:
        >>> import numpy as np, tempfile, os, chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "labels.idx")
        >>> cr.data.save_idx(path, np.array([3, 1, 4], dtype=np.uint8))
        >>> cr.data.load_idx(path)
        array([3, 1, 4], dtype=uint8)
    """
    path = pathlib.Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header (4 bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (its first two bytes are {raw[:2].hex()}, IDX files start "
            f"with 0000)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _CODES:
        known = ", ".join(f"0x{c:02X}" for c in _CODES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; known codes: {known}")
    if not 1 <= ndim <= MAX_NDIM:
        raise DataError(f"{path}: IDX header gives {ndim} dimensions; expected 1 to {MAX_NDIM}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: the file ends inside its header ({len(raw)} of {header} bytes)")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = _CODES[code]
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header != expected:
        problem = "is truncated" if len(raw) - header < expected else "has trailing bytes"
        raise DataError(
            f"{path}: the file {problem}: its header promises shape {shape} of {dtype.name} "
            f"({expected:,} bytes of data) but it holds {len(raw) - header:,}"
        )
    data = np.frombuffer(raw, dtype, math.prod(shape), header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a native-endian, writeable copy


def save_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``).

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (IDX has no others).
    """
    array = np.asarray(array)
    code = _BY_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise DataError(
            f"save_idx: IDX cannot store {array.dtype}; convert to uint8, int8, int16, int32, "
            f"float32 or float64"
        )
    if not 1 <= array.ndim <= MAX_NDIM:
        raise DataError(f"save_idx: IDX stores 1 to {MAX_NDIM} dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = np.ascontiguousarray(array, _CODES[code]).tobytes()
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + body)
