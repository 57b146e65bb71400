"""Public names that moved when large modules were split still import from their old paths."""

import importlib

import pytest

OLD_PATHS = {
    "chainrule.ops.conv": [
        "pair", "single", "clear_buffers", "Conv2d", "ConvTranspose2d", "conv2d", "conv1d",
        "conv_transpose2d", "conv_transpose1d", "MaxPool2d", "AvgPool2d", "max_pool2d",
        "avg_pool2d", "max_pool1d", "avg_pool1d", "AdaptiveAvgPool2d", "adaptive_avg_pool2d",
        "adaptive_avg_pool1d",
    ],
    "chainrule.distributed.comm": [
        "EXIT_LOST_RANK", "DEFAULT_TIMEOUT", "DistributedError", "launched_under_mpi", "init",
        "is_initialized", "rank", "world_size", "barrier", "allgather_object",
        "broadcast_object", "check_same", "check_same_model", "broadcast_parameters",
        "allreduce_mean", "allreduce_sum", "start_allreduce_sum", "wait", "test",
    ],
    "chainrule.diagnose.findings": [
        "LOSS_ROSE_FACTOR", "LR_HIGH_RATIO", "EXPLODING_NORM", "DEAD_FRACTION", "SEVERITIES",
        "MIN_SAMPLE_ROWS", "Finding", "diverged", "loss_rose", "lr_too_high", "exploding",
        "dead_relu", "saturated", "vanishing", "unscaled_features", "unscaled_targets",
        "constant_target", "leaked_target", "imbalance", "lr_too_low", "overfitting",
        "plateau", "RULES", "diagnose", "summary",
    ],
    "chainrule.sklearn": [
        "MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(OLD_PATHS))
def test_moved_names_import_from_their_old_module(module):
    if module == "chainrule.sklearn":
        pytest.importorskip("sklearn")
    loaded = importlib.import_module(module)
    assert [name for name in OLD_PATHS[module] if not hasattr(loaded, name)] == []


def test_exit_status_of_a_lost_rank_is_one_constant():
    from chainrule.distributed import comm, watchdog

    assert comm.EXIT_LOST_RANK is watchdog.EXIT_LOST_RANK == 1
