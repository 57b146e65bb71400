"""Mutated CSV files: load_csv either loads or raises one one-line DataError, nothing else."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Preprocessor, load_csv

BASES = [
    b'\xef\xbb\xbfage,colour,"note, x",label\r\n1.5,red,"a,b",yes\r\n2,blue,c,no\r\n'
    b'3,red,"d""q",yes\r\n-4e1,green,,no\r\n',
    b"1,2,0\n3,4,1\n5,6,0\n7,8,1\n",
    b"a;b;c;label\n1;x;2.5;0\n3;y;4;1\n5;x;NA;2\n7;z;8;1\n",
]
ALPHABET = list(b',;"\r\n\t |?abc019.-eE+\x00\xff\xc3')


def _mutate(base: bytes, rng) -> bytes:
    data = bytearray(base)
    for _ in range(rng.integers(1, 6)):
        op, pos = rng.integers(0, 4), int(rng.integers(0, len(data) + 1))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = ALPHABET[rng.integers(len(ALPHABET))]
        elif op == 1:
            data.insert(pos, ALPHABET[rng.integers(len(ALPHABET))])
        elif op == 2:
            del data[pos : pos + int(rng.integers(1, 5))]
        else:
            data = data[:pos]
    return bytes(data)


@pytest.mark.parametrize("base", range(len(BASES)))
def test_mutations_raise_only_data_error(tmp_path, base):
    rng = np.random.default_rng(base)
    path = tmp_path / "fuzz.csv"
    outcomes = {"loaded": 0, "rejected": 0}
    for _ in range(150):
        path.write_bytes(_mutate(BASES[base], rng))
        for kwargs in ({"target": -1}, {}, {"target": -1, "impute": "mean"}):
            try:
                data = load_csv(path, **kwargs)
                pre = Preprocessor.from_dict(data.preprocessor.fit(data.X).to_dict())
                pre.transform_file(path)
                outcomes["loaded"] += 1
            except cr.DataError as err:
                assert "\n" not in str(err) and "fuzz.csv" in str(err)
                outcomes["rejected"] += 1
    assert outcomes["loaded"] > 0 and outcomes["rejected"] > 0
