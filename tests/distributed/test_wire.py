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


def test_one_process_refuses_and_converts_what_several_ranks_would():
    # a script tried alone returned any object as it was, then failed under mpiexec
    from chainrule import distributed as dist

    with pytest.raises(TypeError, match="not function"):
        dist.allgather_object(lambda: 1)
    with pytest.raises(TypeError, match="not set"):
        dist.broadcast_object({1, 2})
    (got,) = dist.allgather_object({"n": np.int64(3), "pair": (1, 2)})
    assert got == {"n": 3, "pair": (1, 2)} and type(got["n"]) is int
    assert type(dist.broadcast_object(np.float32(0.5))) is float


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_init_refuses_a_bad_blas_threads_in_one_process_too(threads):
    from chainrule import distributed as dist

    with pytest.raises(dist.DistributedError, match="blas_threads must be an int >= 1"):
        dist.init(blas_threads=threads)
    dist.init(blas_threads=np.int64(2))  # a NumPy integer is an int
