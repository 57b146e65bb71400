"""A strict reader and writer for the safetensors file layout, with no third-party code.

Layout (little-endian throughout)::

    [8 bytes: N, unsigned]  [N bytes: UTF-8 JSON header]  [payload: the tensors' raw bytes]

The header maps each tensor name to ``{"dtype": "F32", "shape": [2, 3], "data_offsets":
[begin, end]}`` (offsets relative to the start of the payload) and may hold
``"__metadata__": {str: str}``. PyTorch's ``safetensors`` package reads files written here and
files it writes load here.

The reader trusts nothing: every length, offset, shape and name is checked against the real
file size before any tensor memory is allocated, and every problem raises
:class:`~chainrule.errors.ModelFormatError` naming the file. No code from the file ever runs;
the header is plain JSON and the payload plain numbers.

Checksum: chainrule files carry ``__metadata__["chainrule.sha256"]``, the SHA-256 of the whole
file as written with those 64 hex digits replaced by 64 ASCII ``0`` characters. A single changed
byte anywhere (length prefix, header, padding or payload) changes the digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from collections.abc import Mapping
from typing import BinaryIO, NamedTuple

import numpy as np

from chainrule.errors import DTypeError, ModelFormatError
from chainrule.io.foreign import foreign_format_hint
from chainrule.io.guard import MAX_SMALL_FILE_BYTES, _refuse, open_file, read_file

CHECKSUM_KEY = "chainrule.sha256"
MAX_HEADER_BYTES = 8 * 1024 * 1024  # ~100,000 tensors; a larger header is refused unread
MAX_JSON_DEPTH = 8  # the schema needs 3 (root, tensor entry, shape list)
MAX_NDIM = 64  # NumPy's own limit
MAX_NAME_CHARS = 4096
_MAX_INT_DIGITS = 20  # 2**64 has 20 digits; longer numbers cannot be valid sizes

# The allow-list: file dtype name <-> little-endian NumPy dtype.
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAME_OF = {(dt.kind, dt.itemsize): name for name, dt in DTYPES.items()}
_ZERO_DIGEST = b"0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")


class TensorFile(NamedTuple):
    """What :func:`read` returns: ``tensors`` (name -> array, header order) and ``metadata``."""

    tensors: dict[str, np.ndarray]
    metadata: dict[str, str]


# ---- reading ----------------------------------------------------------------------------------


def read(path: str | os.PathLike, *, require_checksum: bool = False, check=None) -> TensorFile:
    """Read a safetensors file into NumPy arrays, validating every byte of its structure.

    Args:
        path: the file.
        require_checksum: refuse files without a chainrule checksum (files from other tools
            have none; when one is present it is always verified).
        check: called as ``check(entries, metadata)`` once the header is validated and before
            the tensor data is read (entries: name -> ``(dtype, shape)``), so a caller can refuse
            a file for what its header says without reading the rest; it raises
            ModelFormatError to refuse.

    Returns:
        ``TensorFile(tensors, metadata)``; the arrays share one buffer read from the file once.

    Raises:
        ModelFormatError: for any problem with the file, naming the file and the problem.
    """
    source = os.fspath(path)
    try:
        with _open_regular(source) as (f, size):
            return _read_stream(f, size, source, require_checksum, check)
    except ModelFormatError:
        raise
    except MemoryError:
        raise _out_of_memory(source) from None
    except RecursionError:
        raise _fail(source, "structure nests too deeply to read") from None
    except OSError as exc:
        raise ModelFormatError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc
    except Exception as exc:  # the contract: nothing but ModelFormatError escapes
        raise ModelFormatError(f"{source}: not a valid tensor file ({exc!r})") from exc


def loads(
    data: bytes | bytearray | memoryview, *, source: str = "<bytes>", require_checksum: bool = False
) -> TensorFile:
    """Like :func:`read`, for a file's contents already in memory (``source`` names it)."""
    try:
        view = memoryview(data).cast("B")
        return _read_stream(_MemoryReader(view), view.nbytes, source, require_checksum)
    except ModelFormatError:
        raise
    except MemoryError:
        raise _out_of_memory(source) from None
    except Exception as exc:
        raise ModelFormatError(f"{source}: not a valid tensor file ({exc!r})") from exc


@contextlib.contextmanager
def _open_regular(source: str, expansion: float = 1.0):
    """Open a regular file for reading, with its size, through :mod:`chainrule.io.guard`:
    FIFOs and devices are refused unopened, sparse files and files larger than the memory
    available are refused unread."""

    f, size = open_file(source, ModelFormatError, what="model file", expansion=expansion)
    with f:
        yield f, size


class _MemoryReader:
    """The two file methods the reader uses, over bytes in memory, without copying them."""

    def __init__(self, view: memoryview):
        self.view = view
        self.position = 0

    def readinto(self, buffer) -> int:
        chunk = self.view[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)

    def read(self, n: int) -> bytes:
        chunk = self.view[self.position : self.position + n]
        self.position += len(chunk)
        return bytes(chunk)


def read_header(path: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    """The validated header only: ``(entries, metadata)``, entries as name -> (dtype, shape).

    Reads at most the header's bytes; the payload is not read and the checksum not verified.
    """
    source = os.fspath(path)
    try:
        with _open_regular(source, expansion=0.0) as (f, size):
            _, entries, metadata, _ = _read_header(f, size, source)
        return {name: (e[0], e[1]) for name, e in entries.items()}, metadata
    except ModelFormatError:
        raise
    except MemoryError:
        raise _out_of_memory(source) from None
    except OSError as exc:
        raise ModelFormatError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc
    except Exception as exc:
        raise ModelFormatError(f"{source}: not a valid tensor file ({exc!r})") from exc


def _fail(source: str, problem: str) -> ModelFormatError:
    return ModelFormatError(f"{source}: {problem}")


def _out_of_memory(source: str) -> ModelFormatError:
    return _fail(source, "not enough memory to read the file; free some memory or use a machine "
                 "with more")  # fmt: skip


def _read_exact(f: BinaryIO, n: int, source: str, what: str) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = f.readinto(view[got:])
        if not k:
            raise _fail(source, f"file ended inside the {what} ({got} of {n} bytes)")
        got += k
    return buf


def _read_header(f: BinaryIO, size: int, source: str):
    if size < 8:
        hint = foreign_format_hint(source, f.read(8))
        raise _fail(source, f"file is {size} bytes, too short for the 8-byte header length{hint}")
    prefix = bytes(_read_exact(f, 8, source, "header length"))
    n = int.from_bytes(prefix, "little")
    if n == 0:
        raise _fail(source, "header length is 0; a header is at least '{}'")
    hint = foreign_format_hint(source, prefix)
    if n > size - 8:
        raise _fail(source, f"header length {n} is larger than the file ({size} bytes){hint}")
    if n > MAX_HEADER_BYTES:
        raise _fail(source, f"header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes")
    raw = _read_exact(f, n, source, "header")
    if raw[:1] != b"{":
        raise _fail(source, f"header does not start with '{{' (not a safetensors file){hint}")
    header = parse_json(raw, source=source, what="header")
    if not isinstance(header, dict):
        raise _fail(source, "header is not a JSON object")
    payload_size = size - 8 - n
    entries, metadata = _validate_header(header, payload_size, source)
    return (prefix, raw), entries, metadata, payload_size


def _read_stream(
    f: BinaryIO, size: int, source: str, require_checksum: bool, check=None
) -> TensorFile:
    head, entries, metadata, payload_size = _read_header(f, size, source)
    digest = metadata.get(CHECKSUM_KEY)
    if digest is None and require_checksum:
        raise _fail(
            source,
            f"no '{CHECKSUM_KEY}' checksum; not a model file written by chainrule. A plain "
            "tensors file (safetensors' save_file) holds no architecture: build the model in "
            "code and load the weights with model.load_state_dict(chainrule.io.read(path)"
            ".tensors)",
        )
    if check is not None:
        check({name: (e[0], e[1]) for name, e in entries.items()}, metadata)
    payload = _read_exact(f, payload_size, source, "tensor data")
    if f.read(1):
        raise _fail(source, "file grew while it was read")
    if digest is not None:
        _verify_checksum(head, payload, digest, source)
    tensors = {}
    for name, (dtype_name, shape, begin, _end) in entries.items():
        dtype = DTYPES[dtype_name]
        count = _product(shape)
        if count == 0:
            array = np.empty(shape, dtype=dtype)
        else:
            array = np.frombuffer(payload, dtype=dtype, count=count, offset=begin).reshape(shape)
        if dtype_name == "BOOL" and count:
            if np.frombuffer(payload, dtype=np.uint8, count=count, offset=begin).max() > 1:
                raise _fail(source, f"tensor {name!r}: BOOL data holds bytes other than 0 and 1")
        tensors[name] = array
    return TensorFile(tensors, metadata)


def _verify_checksum(head: tuple, payload: bytearray, digest: str, source: str) -> None:
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise _fail(source, f"checksum '{CHECKSUM_KEY}' is not 64 lowercase hex digits")
    prefix, raw = head
    needle = f'"{CHECKSUM_KEY}":"{digest}"'.encode()
    at = raw.find(needle)
    if at < 0 or raw.find(needle, at + 1) >= 0:
        raise _fail(source, "checksum entry is not written in the canonical form chainrule uses")
    start = at + len(needle) - 65  # first hex digit
    view = memoryview(raw)
    h = hashlib.sha256(prefix)
    h.update(view[:start])
    h.update(_ZERO_DIGEST)
    h.update(view[start + 64 :])
    h.update(payload)
    if h.hexdigest() != digest:
        raise _fail(
            source,
            f"checksum mismatch (stored {digest[:12]}..., computed {h.hexdigest()[:12]}...): "
            "the file is corrupted or was modified; restore it from a good copy",
        )


def _product(shape) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _validate_header(header: dict, payload_size: int, source: str):
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict):
        raise _fail(source, "'__metadata__' is not a JSON object")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _fail(
                source, f"metadata value of {key!r} is {type(value).__name__}, not a string"
            )
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not name or len(name) > MAX_NAME_CHARS:
            raise _fail(source, f"tensor name of length {len(name)} is not allowed")
        if not isinstance(entry, dict):
            raise _fail(source, f"tensor {name!r}: entry is not a JSON object")
        if set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _fail(
                source,
                f"tensor {name!r}: entry has keys {sorted(entry)}; "
                "expected exactly dtype, shape, data_offsets",
            )
        dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype_name, str) or dtype_name not in DTYPES:
            raise _fail(
                source,
                f"tensor {name!r}: dtype {dtype_name!r} is not one of {', '.join(DTYPES)}",
            )
        if not isinstance(shape, list) or len(shape) > MAX_NDIM:
            raise _fail(source, f"tensor {name!r}: shape must be a list of at most {MAX_NDIM} ints")
        if not all(_is_int(d) and d >= 0 for d in shape):
            raise _fail(source, f"tensor {name!r}: shape {shape} has a negative or non-integer dim")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
        ):
            raise _fail(source, f"tensor {name!r}: data_offsets must be a list of two ints")
        begin, end = offsets
        if not 0 <= begin <= end <= payload_size:
            raise _fail(
                source,
                f"tensor {name!r}: data_offsets [{begin}, {end}] are reversed or outside the "
                f"{payload_size}-byte data section",
            )
        nbytes = _product(shape) * DTYPES[dtype_name].itemsize  # Python ints: no overflow
        if nbytes != end - begin:
            raise _fail(
                source,
                f"tensor {name!r}: shape {shape} of {dtype_name} needs {nbytes} bytes but "
                f"data_offsets span {end - begin}",
            )
        entries[name] = (dtype_name, tuple(shape), begin, end)
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap"
            raise _fail(source, f"tensor {name!r} at byte {begin} {problem} (expected {position})")
        position = end
    if position != payload_size:
        raise _fail(
            source,
            f"{payload_size - position} trailing bytes after the last tensor "
            f"(data section is {payload_size} bytes, tensors cover {position})",
        )
    return entries, metadata


# ---- JSON ------------------------------------------------------------------------------------


def _reject_constant(token: str):
    raise ValueError(f"JSON constant {token} is not allowed")


def _int_parser(max_digits: int):
    def parse_int(text: str) -> int:
        if len(text.lstrip("-")) > max_digits:
            raise ValueError(f"integer with {len(text)} digits is too large")
        return int(text)

    return parse_int


def _unique_pairs(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH, chunk: int = 1 << 12) -> int:
    """Maximum nesting depth of ``[``/``{`` in JSON text, ignoring brackets inside strings.

    Stops early once the depth passes ``limit``. Works in fixed-size chunks, so the memory it
    needs does not grow with the text (a deep-nesting attack is refused before ``json.loads``,
    whose recursion could otherwise exhaust the stack).
    """
    codes = np.frombuffer(data, dtype=np.uint8)
    depth = deepest = 0
    in_string = 0  # 1 while inside a string literal
    backslashes = 0  # length of the run of backslashes that ended the previous chunk
    for start in range(0, codes.size, chunk):
        c = codes[start : start + chunk]
        index = np.arange(c.size, dtype=np.int32)
        is_backslash = c == 0x5C
        last_other = np.maximum.accumulate(np.where(is_backslash, np.int32(-1), index))
        run = index - last_other  # length of the backslash run ending at i
        run[last_other < 0] += backslashes
        run_before = np.empty_like(run)
        run_before[0] = backslashes
        run_before[1:] = run[:-1]
        quotes = np.cumsum((c == 0x22) & (run_before % 2 == 0), dtype=np.int32) + in_string
        outside = (quotes & 1) == 0
        steps = ((c == 0x5B) | (c == 0x7B)).astype(np.int8) - ((c == 0x5D) | (c == 0x7D))
        levels = np.cumsum(steps * outside, dtype=np.int32) + depth
        deepest = max(deepest, int(levels.max()))
        if deepest > limit:
            return deepest
        depth, in_string, backslashes = int(levels[-1]), int(quotes[-1]) & 1, int(run[-1])
    return deepest


def parse_json(
    data: bytes | str,
    *,
    source: str,
    what: str,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_HEADER_BYTES,
    max_int_digits: int = _MAX_INT_DIGITS,
):
    """Parse untrusted JSON strictly: valid UTF-8, bounded size and depth, no duplicate keys,
    no NaN/Infinity, no huge integers. Raises ModelFormatError naming ``source`` and ``what``."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise _fail(source, f"{what} is not valid UTF-8 ({exc.reason})") from None
    if len(raw) > max_bytes:
        raise _fail(source, f"{what} is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(source, f"{what} is not valid UTF-8 (byte {exc.start})") from None
    depth = json_depth(raw, max_depth)
    if depth > max_depth:
        raise _fail(source, f"{what} JSON nests {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_pairs,
            parse_constant=_reject_constant,
            parse_int=_int_parser(max_int_digits),
        )
    except (ValueError, RecursionError) as exc:
        raise _fail(source, f"{what} is not valid JSON ({exc})") from None


# ---- writing ---------------------------------------------------------------------------------


def dtype_name(dtype) -> str:
    """The file's name for a NumPy dtype (``float32`` -> ``"F32"``); DTypeError if not allowed."""
    dt = np.dtype(dtype)
    name = _NAME_OF.get((dt.kind, dt.itemsize))
    if name is None:
        raise DTypeError(
            f"cannot store dtype {dt} in a model file; allowed: float64, float32, float16, "
            "int64, int32, int16, int8, uint8, bool"
        )
    return name


def _prepare(tensors: Mapping, metadata: Mapping | None):
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"tensor name {name!r} is not allowed (need a non-empty string)")
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"tensor name is {len(name)} characters; limit {MAX_NAME_CHARS}")
        array = np.asarray(getattr(value, "array", value))
        file_dtype = DTYPES[dtype_name(array.dtype)]
        arrays[name] = array.astype(file_dtype, order="C", copy=False)
    meta = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata must map str to str; got {key!r}: {type(value).__name__}")
        meta[key] = value
    meta.pop(CHECKSUM_KEY, None)
    # Payload order: widest items first so every tensor starts aligned to its item size
    # (the payload itself starts at a multiple of 8); the header keeps the caller's order.
    order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)
    offsets, position = {}, 0
    for name in order:
        offsets[name] = (position, position + arrays[name].nbytes)
        position += arrays[name].nbytes
    header = {}
    for name, array in arrays.items():
        header[name] = {
            "dtype": dtype_name(array.dtype),
            "shape": list(array.shape),
            "data_offsets": list(offsets[name]),
        }
    return arrays, order, header, meta


def _encode_header(header: dict, meta: dict, digest: str | None) -> bytes:
    full = {}
    if meta or digest is not None:
        m = dict(meta)
        if digest is not None:
            m[CHECKSUM_KEY] = digest
        full["__metadata__"] = m
    full.update(header)
    raw = json.dumps(full, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    raw = raw.encode("utf-8")
    return raw + b" " * (-(8 + len(raw)) % 8)  # pad so the payload starts 8-byte aligned


def _chunks(arrays: dict, order: list):
    for name in order:
        array = arrays[name]
        if array.nbytes:
            yield memoryview(array.reshape(-1)).cast("B")


def write_to(
    f: BinaryIO, tensors: Mapping, metadata: Mapping | None = None, *, checksum: bool = True
) -> None:
    """Write tensors (name -> array) and string metadata to an open binary file."""
    arrays, order, header, meta = _prepare(tensors, metadata)
    digest = None
    if checksum:
        zero_head = _encode_header(header, meta, "0" * 64)
        h = hashlib.sha256(len(zero_head).to_bytes(8, "little"))
        h.update(zero_head)
        for chunk in _chunks(arrays, order):
            h.update(chunk)
        digest = h.hexdigest()
    head = _encode_header(header, meta, digest)
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError(
            f"the file header would be {len(head)} bytes, more than readers accept "
            f"({MAX_HEADER_BYTES}); store less metadata or fewer, larger tensors"
        )
    f.write(len(head).to_bytes(8, "little"))
    f.write(head)
    for chunk in _chunks(arrays, order):
        f.write(chunk)


def dumps(tensors: Mapping, metadata: Mapping | None = None, *, checksum: bool = True) -> bytes:
    """The bytes of a file holding ``tensors`` and ``metadata`` (see :func:`write`)."""
    buf = io.BytesIO()
    write_to(buf, tensors, metadata, checksum=checksum)
    return buf.getvalue()


def write(
    path: str | os.PathLike,
    tensors: Mapping,
    metadata: Mapping | None = None,
    *,
    checksum: bool = True,
) -> None:
    """Write a safetensors file atomically (see :func:`chainrule.io.atomic.atomic_write`).

    Args:
        path: the target; it is replaced only once the new file is complete and on disk.
        tensors: name -> array (any allowed dtype; stored C-contiguous, little-endian).
        metadata: str -> str, stored in the header's ``__metadata__``.
        checksum: add the ``chainrule.sha256`` checksum (on by default).
    """
    from chainrule.io.atomic import atomic_write

    atomic_write(path, lambda f: write_to(f, tensors, metadata, checksum=checksum))


def read_json_file(
    path,
    error,
    *,
    what: str = "JSON file",
    max_bytes: int = MAX_SMALL_FILE_BYTES,
    max_depth: int = 32,
):
    """Parse a small JSON file strictly (valid UTF-8, bounded size and nesting, no duplicate
    keys, no NaN); every problem is one ``error`` naming the file."""
    source = os.fspath(path)
    data = read_file(source, error, what=what, max_bytes=max_bytes, expansion=16.0)
    try:
        return parse_json(
            data, source=source, what=f"the {what}", max_depth=max_depth, max_bytes=max_bytes
        )
    except ModelFormatError as exc:
        raise error(str(exc)) from None
    except MemoryError:
        raise _refuse(error, source, f"not enough memory to parse this {what}") from None
