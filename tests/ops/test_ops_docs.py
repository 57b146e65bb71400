"""docs/ops.md's derivative table is generated from each op class's ``label`` and ``formulas``;
this test fails when the two drift apart. Regenerate with ``python tests/ops/test_ops_docs.py``."""

import importlib
import inspect
import pathlib

from chainrule.autograd.function import Function

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "ops.md"
FAMILIES = [
    "elementwise",
    "power",
    "rounded_division",
    "reduce",
    "shape",
    "getitem",
    "matmul",
    "activation",
    "activation_smooth",
    "activation_extra",
    "softmax",
    "loss",
    "loss_regression",
    "loss_cross_entropy",
    "conv",
    "pooling",
    "math",
    "erfinv",
    "indexing",
    "norm",
    "loss_kl",
    "diagonal",
    "linalg_extra",
    "cumulative",
    "einsum",
    "selection",
    "index_write",
    "extremes",
    "shape_extra",
    "clamp_side",
    "arith_forms",
    "sorting",
    "lerp",
    "sign_magnitude",
    "extra_torch_ops",
    "scatter_reduce",
    "triangle",
    "linalg.inverse",
    "linalg.decompositions",
    "linalg.spectral",
    "linalg.matrix_exp",
    "linalg._named",
    "conv_named",
    "conv3d",
    "conv_transpose3d",
    "pooling3d",
    "recurrent_cells",
    "recurrent_layers",
    # pooling extras
    "pooling_adaptive_max",
    "lp_pool",
    "unpool",
    "fractional_max_pool",
    "fractional_max_pool3d",
    "pdist",
    "loss_likelihood",
    "loss_ctc",
    "fold",
    "pixel_shuffle",
    "grid_sample",
    "embedding_bag",
    # activations and dropout variants
    "activation_more",
    "gumbel_softmax",
    # var/std where correction >= n (PyTorch's gradient there)
    "variance_no_dof",
    # a piecewise-linear op's first derivative tied to its input (second derivatives)
    "piecewise_link",
    # in-place writes that replace values (copy_, fill_, zero_, a view written through)
    "overwrite",
    "log_bases",
    "masked_scatter",
]
BEGIN, END = "<!-- op table: begin -->", "<!-- op table: end -->"


def op_classes():
    for family in FAMILIES:
        module = importlib.import_module(f"chainrule.ops.{family}")
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Function)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
            ):
                yield family, cls


def render_table() -> str:
    def cell(text):
        return text.replace("|", "\\|")

    lines = ["| family | op class | label | local derivative, per input |", "|---|---|---|---|"]
    for family, cls in op_classes():
        formulas = "; ".join(f"`{cell(f)}`" for f in cls.formulas)
        lines.append(f"| {family} | `{cls.__name__}` | `{cell(cls.label)}` | {formulas} |")
    return "\n".join(lines)


def test_every_op_has_a_label_and_formulas():
    classes = list(op_classes())
    assert len(classes) > 40
    for _, cls in classes:
        assert cls.label != "?" and cls.formulas and all(cls.formulas), cls.__name__


def test_every_ops_module_with_ops_is_in_the_table():
    # a family moved to a new file must not drop out of docs/ops.md unnoticed
    import pkgutil

    import chainrule.ops

    # walk_packages: subpackages too (ops/linalg/ holds one family a file)
    for info in pkgutil.walk_packages(chainrule.ops.__path__, prefix="chainrule.ops."):
        module = importlib.import_module(info.name)
        has_ops = any(
            inspect.isclass(c)
            and issubclass(c, Function)
            and c.__module__ == module.__name__
            and not n.startswith("_")
            for n, c in vars(module).items()
        )
        family = info.name.removeprefix("chainrule.ops.")
        assert not has_ops or family in FAMILIES, f"add {family!r} to FAMILIES"


def test_docs_table_is_current():
    text = DOC.read_text(encoding="utf-8")
    table = text.split(BEGIN)[1].split(END)[0].strip()
    assert table == render_table(), "docs/ops.md is stale: run python tests/ops/test_ops_docs.py"


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    DOC.write_text(f"{head}{BEGIN}\n{render_table()}\n{END}{tail}", encoding="utf-8")
    print(f"updated {DOC}")
