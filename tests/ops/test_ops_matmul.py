"""matmul (1-D, 2-D, batched, broadcast) and the fused linear op against PyTorch."""

import pytest
from op_check import case, check_case, ids

import chainrule as cr

torch = pytest.importorskip("torch")
F = torch.nn.functional

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((4, 3), (3,)),
    ((3,), (3, 2)),
    ((4, 3), (3, 2)),
    ((2, 4, 3), (2, 3, 5)),
    ((2, 4, 3), (3, 5)),
    ((4, 3), (2, 3, 5)),
    ((1, 4, 3), (2, 3, 5)),
    ((2, 1, 4, 3), (3, 3, 2)),
    ((3,), (2, 3, 5)),
    ((2, 4, 3), (3,)),
]

CASES = [
    *case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, MATMUL_SHAPES),
    *case("matmul_fn", cr.matmul, torch.matmul, [((4, 3), (3, 2))]),
    *case(
        "linear",
        cr.functional.linear,
        F.linear,
        [((4, 3), (2, 3), (2,)), ((2, 4, 3), (2, 3), (2,)), ((3,), (2, 3), (2,))],
    ),
    *case("linear_no_bias", cr.functional.linear, F.linear, [((4, 3), (2, 3)), ((3,), (5, 3))]),
    *case("linear_frozen_x", cr.functional.linear, F.linear, [((4, 3), (2, 3), (2,))], grad=(1, 2)),
    *case("linear_only_x", cr.functional.linear, F.linear, [((4, 3), (2, 3), (2,))], grad=(0,)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_matmul(c, dtype):
    check_case(c, dtype)
