"""The tensor file format: exact round trips, interop with safetensors/PyTorch, strict checks."""

import json
import os
import struct

import numpy as np
import pytest

from chainrule.errors import DTypeError, ModelFormatError
from chainrule.io import format as fmt

ALL_DTYPES = ["<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "i1", "u1", "?"]


def sample_tensors():
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.0], dtype="<f8")
    odd_nan = np.array([0x7FF8DEADBEEF0001, 0xFFF0000000000001], dtype="<u8").view("<f8")
    return {
        "w": np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5,
        "special": special,
        "odd_nan": odd_nan,
        "f32_special": np.array([np.float32(1e-45), -0.0, np.nan, -np.inf], dtype="<f4"),
        "half": np.array([1.5, -2.0, 65504.0], dtype=np.float16),
        "count": np.array(7, dtype=np.int64),
        "empty": np.zeros((0, 5), dtype=np.float32),
        "empty2": np.zeros((3, 0, 2), dtype=np.float64),
        "mask": np.array([[True, False], [False, True]]),
        "bytes": np.arange(256, dtype=np.uint8),
        "i8": np.array([-128, 127], dtype=np.int8),
        "i16": np.array([-32768, 32767], dtype=np.int16),
        "i32": np.array([-(2**31), 2**31 - 1], dtype=np.int32),
    }


def assert_bit_identical(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def test_round_trip_is_bit_exact(tmp_path):
    tensors = sample_tensors()
    path = tmp_path / "t.safetensors"
    fmt.write(path, tensors, {"note": "héllo ✓", "empty": ""})
    out = fmt.read(path, require_checksum=True)
    assert list(out.tensors) == list(tensors)
    for name, array in tensors.items():
        assert_bit_identical(out.tensors[name], array)
    assert out.metadata["note"] == "héllo ✓" and out.metadata["empty"] == ""
    assert len(out.metadata[fmt.CHECKSUM_KEY]) == 64


def test_every_allowed_dtype_and_non_contiguous_big_endian_input():
    for dt in ALL_DTYPES:
        a = (np.arange(24) % 2).astype(dt).reshape(2, 3, 4)
        b = fmt.loads(fmt.dumps({"x": a})).tensors["x"]
        assert_bit_identical(b, a)
    src = np.arange(12, dtype=">f8").reshape(3, 4).T
    out = fmt.loads(fmt.dumps({"x": src})).tensors["x"]
    assert out.dtype == np.dtype("<f8") and np.array_equal(out, src)


def test_writer_rejects_disallowed_dtypes_and_bad_metadata():
    for bad in (np.array([1 + 2j]), np.array(["a"]), np.array([object()]), np.array([1], "u4")):
        with pytest.raises(DTypeError):
            fmt.dumps({"x": bad})
    with pytest.raises(TypeError):
        fmt.dumps({"x": np.zeros(1)}, {"k": 1})
    with pytest.raises(ValueError):
        fmt.dumps({"__metadata__": np.zeros(1)})


def test_payload_is_aligned_and_header_padded():
    data = fmt.dumps({"a": np.zeros(3, np.uint8), "b": np.ones(2, np.float64)})
    n = struct.unpack("<Q", data[:8])[0]
    assert (8 + n) % 8 == 0
    header = json.loads(data[8 : 8 + n])
    assert list(header) == ["__metadata__", "a", "b"]  # caller's order kept in the header
    assert header["b"]["data_offsets"] == [0, 16]  # widest items first in the payload


def test_safetensors_package_reads_ours_and_we_read_its(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = sample_tensors()
    path = tmp_path / "ours.safetensors"
    fmt.write(path, tensors, {"a": "b"})
    theirs = st.load_file(str(path))
    for name, array in tensors.items():
        assert_bit_identical(theirs[name], array)
    st.save_file(tensors, str(tmp_path / "theirs.safetensors"), metadata={"format": "np"})
    out = fmt.read(tmp_path / "theirs.safetensors")
    assert out.metadata == {"format": "np"}
    for name, array in tensors.items():
        assert_bit_identical(out.tensors[name], array)
    with pytest.raises(ModelFormatError, match="checksum"):
        fmt.read(tmp_path / "theirs.safetensors", require_checksum=True)


def test_torch_safetensors_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    state = {
        "w": torch.randn(4, 3, dtype=torch.float32),
        "b": torch.tensor([-0.0, float("nan"), float("inf")], dtype=torch.float64),
        "n": torch.tensor(3, dtype=torch.int64),
    }
    st_torch.save_file(state, str(tmp_path / "t.safetensors"))
    out = fmt.read(tmp_path / "t.safetensors").tensors
    for name, value in state.items():
        assert_bit_identical(out[name], value.numpy())
    fmt.write(tmp_path / "back.safetensors", out)
    back = st_torch.load_file(str(tmp_path / "back.safetensors"))
    for name, value in state.items():
        assert back[name].dtype == value.dtype
        assert back[name].numpy().tobytes() == value.numpy().tobytes()


def raw_file(header, payload=b"", *, raw_header=None, length=None):
    body = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(body) if length is None else length
    return struct.pack("<Q", n) + body + payload


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"\x01\x02\x03", "too short"),
        (raw_file(GOOD, bytes(8), length=0), "header length is 0"),
        (raw_file(GOOD, bytes(8), length=7), "not valid JSON"),
        (raw_file(GOOD, bytes(8), length=2**63), "larger than the file"),
        (raw_file(GOOD, bytes(8), length=2**64 - 1), "larger than the file"),
        (raw_file(GOOD, bytes(8), length=10_000), "larger than the file"),
        (raw_file(GOOD, bytes(7)), "needs 8 bytes|outside"),
        (raw_file(GOOD, bytes(9)), "trailing"),
        (raw_file(None, raw_header=b"[1, 2]"), "start with"),
        (raw_file(None, raw_header=b'{"a": 1, "a": 2}'), "duplicate"),
        (raw_file(None, raw_header=b'{"a": "\xff"}'), "UTF-8"),
        (raw_file(None, raw_header=b'{"a": "\xed\xa0\x80"}'), "UTF-8"),
        (raw_file(None, raw_header=b'{"x": ' + b"[" * 100 + b"]" * 100 + b"}"), "deep"),
        (raw_file(None, raw_header=b'{"x": NaN}'), "NaN"),
        (
            raw_file({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, bytes(2)),
            "BF16",
        ),
        (raw_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4)), "neg"),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, bytes(4)),
            "int",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, bytes(4)),
            "int",
        ),
        (
            raw_file(
                {"a": {"dtype": "F64", "shape": [2**61, 2**61], "data_offsets": [0, 8]}}, bytes(8)
            ),
            "needs",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, bytes(4)),
            "reversed",
        ),
        (
            raw_file(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                },
                bytes(12),
            ),
            "overlaps",
        ),
        (raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)), "gap"),
        (raw_file({"__metadata__": {"k": 1}}), "not a string"),
        (raw_file({"__metadata__": []}), "not a JSON object"),
        (raw_file({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0], "x": 1}}), "keys"),
        (raw_file({"a": [1]}), "not a JSON object"),
        (raw_file({"": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}), "name"),
        (raw_file({"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\x02"), "BOOL"),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}}, bytes(4)),
            "64",
        ),
        (
            raw_file(None, raw_header=b'{"a": {"dtype": "F32", "shape": [1' + b"0" * 30 + b"]}}"),
            "large",
        ),
    ],
)
def test_hostile_headers_are_rejected_with_a_precise_message(data, message, tmp_path):
    with pytest.raises(ModelFormatError, match=message):
        fmt.loads(data, source="mem")
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFormatError, match="bad.safetensors"):
        fmt.read(path)


def test_missing_file_and_folder_raise_model_format_error(tmp_path):
    with pytest.raises(ModelFormatError, match="nope"):
        fmt.read(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFormatError):
        fmt.read(tmp_path)


def test_checksum_covers_every_byte():
    data = bytearray(fmt.dumps({"a": np.arange(5.0), "m": np.array([True])}, {"k": "v"}))
    fmt.loads(bytes(data), require_checksum=True)
    rejected = 0
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x20
        with pytest.raises(ModelFormatError):
            fmt.loads(bytes(flipped), require_checksum=True)
        rejected += 1
    assert rejected == len(data)


def test_checksum_in_non_canonical_form_is_refused():
    data = fmt.dumps({"a": np.arange(3.0)})
    n = struct.unpack("<Q", data[:8])[0]
    header = data[8 : 8 + n].replace(b'"chainrule.sha256":', b'"chainrule.sha256" :')
    twisted = struct.pack("<Q", len(header)) + header + data[8 + n :]
    with pytest.raises(ModelFormatError, match="canonical"):
        fmt.loads(twisted)


def test_read_header_does_not_need_the_payload(tmp_path):
    path = tmp_path / "h.safetensors"
    fmt.write(path, {"a": np.zeros((2, 3), np.float32)}, {"k": "v"})
    entries, metadata = fmt.read_header(path)
    assert entries == {"a": ("F32", (2, 3))} and metadata["k"] == "v"


def test_returned_arrays_are_writable_and_independent_of_the_file(tmp_path):
    path = tmp_path / "w.safetensors"
    fmt.write(path, {"a": np.zeros(3)})
    a = fmt.read(path).tensors["a"]
    a[0] = 1.0
    assert fmt.read(path).tensors["a"][0] == 0.0


def test_parse_json_limits():
    assert fmt.json_depth(b'{"a": "[[[[", "b": [[1]]}') == 3
    assert fmt.json_depth(b'["\\\\", ["\\"["]]') == 2
    with pytest.raises(ModelFormatError, match="deep"):
        fmt.parse_json(b"[" * 50 + b"]" * 50, source="s", what="config", max_depth=10)
    with pytest.raises(ModelFormatError, match="limit"):
        fmt.parse_json(b"[" + b"1," * 100 + b"1]", source="s", what="config", max_bytes=50)
    assert fmt.parse_json('{"a": [1, {"b": "c"}]}', source="s", what="x") == {"a": [1, {"b": "c"}]}


def test_fifos_and_devices_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(ModelFormatError, match="not a regular file"):
        fmt.read(fifo)  # opening a FIFO for reading would block forever
    with pytest.raises(ModelFormatError, match="not a regular file"):
        fmt.read("/dev/zero")


def test_writer_refuses_a_header_readers_would_refuse():
    with pytest.raises(ValueError, match="header"):
        fmt.dumps({"x": np.zeros(1)}, {"big": "x" * (fmt.MAX_HEADER_BYTES + 1)})
