"""The object collectives' codec: what a rank sends is what the others read back."""

import numpy as np
import pytest

from chainrule.distributed.wire import from_bytes, to_bytes


def test_arrays_keep_shape_dtype_and_values_zero_d_included():
    sent = {
        "count": np.array(7, np.int64),  # a BatchNorm's num_batches_tracked is 0-d
        "loss": np.array(0.25, np.float32),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],
        "nested": [(1, "a"), None, np.float64(1.5)],
    }
    got = from_bytes(to_bytes(sent))
    for key in ("count", "loss", "strided"):
        assert got[key].shape == sent[key].shape
        assert got[key].dtype == sent[key].dtype
        np.testing.assert_array_equal(got[key], sent[key])
    assert got["nested"] == [(1, "a"), None, 1.5]


def test_other_objects_are_refused_by_name():
    with pytest.raises(TypeError, match="not set"):
        to_bytes({1, 2})
