"""``print(report)`` fits an 80-column terminal: equations fold after an operator, tables wrap
their cells or stack their rows, and no number is split or cut; ``report.text(width=None)``
keeps every equation and table row on one line."""

import re
from collections import Counter

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import examples
from chainrule.explain.fold import width

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def _mlp_softmax():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    x = np.random.default_rng(0).normal(size=(2, 4))
    return cr.explain(model, x, np.array([0, 2]), nn.CrossEntropyLoss())


def _cnn():
    X, y = cr.datasets.digits(images=True)
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * 4 * 4, 10),
    )
    return cr.explain(model, X[0] / 16, y[0], nn.CrossEntropyLoss(), param="0.weight[1, 0, 2, 2]")


def _batchnorm_dropout():
    cr.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.3), nn.Linear(5, 2)
    )
    model.train()
    model(cr.tensor(np.random.default_rng(2).normal(size=(8, 4))))  # running statistics move
    x = np.random.default_rng(3).normal(size=(3, 4))
    return cr.explain(model, x, np.array([0, 1, 1]), nn.CrossEntropyLoss())


REPORTS = {
    "seed": examples.seed,
    "mlp-softmax-cross-entropy": _mlp_softmax,
    "cnn": _cnn,
    "batchnorm-dropout": _batchnorm_dropout,
}


@pytest.fixture(scope="module", params=list(REPORTS))
def report(request):
    return REPORTS[request.param]()


def test_str_fits_80_columns(report):
    lines = str(report).splitlines()
    too_long = [line for line in lines if width(line) > 80]
    assert not too_long, too_long[:3]


def test_folding_splits_and_drops_no_number(report):
    narrow, wide = str(report), report.text(width=None)
    assert Counter(NUMBER.findall(narrow)) == Counter(NUMBER.findall(wide))
    assert "…" not in wide  # the full-width form cuts no table cell (it cut them at 60)


def test_full_width_keeps_each_equation_on_one_line():
    report = examples.seed()
    wide = report.text(width=None).splitlines()
    chain = next(line for line in wide if line.startswith("  ∂E/∂w1 = ∂E/∂out_o1"))
    assert chain.endswith("= -0.052721753")
    assert max(map(width, wide)) > 80


def test_long_equation_breaks_after_an_operator_with_a_hanging_indent():
    lines = str(examples.seed()).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  ∂E/∂w1 = ∂E/∂out_o1"))
    folded = lines[start : start + 3]
    assert all(line.startswith("      ") and line[6] != " " for line in folded[1:])
    assert all(line.rstrip().endswith(("·", "×", "=", "+")) for line in folded[:-1])
    joined = " ".join(line.strip() for line in folded)
    want = next(
        line for line in examples.seed().text(width=None).splitlines() if "∂E/∂w1 = ∂E/" in line
    )
    assert joined == want.strip()


def test_a_name_with_an_index_is_not_broken_inside_its_brackets():
    text = str(_cnn())
    for line in text.splitlines():
        assert not re.search(r"\[[0-9, ]*,$", line.rstrip()), line  # "∂3.out[0," then "17]"


def test_other_widths_and_a_clear_error():
    report = examples.mazur()
    assert max(map(width, report.text(width=60).splitlines())) <= 60
    assert max(map(width, report.text(width=120).splitlines())) <= 120
    with pytest.raises(ValueError, match="too narrow"):
        report.text(width=10)


def test_saved_text_is_what_str_prints(tmp_path):
    report = examples.seed()
    path = report.save(tmp_path / "seed.txt")
    assert open(path, encoding="utf-8").read() == str(report)


def _update_table(report):
    from chainrule.explain.blocks import Table

    start = next(
        i for i, b in enumerate(report.blocks) if getattr(b, "text", "") == "4. The update"
    )
    return next(b for b in report.blocks[start:] if isinstance(b, Table))


def test_cnn_update_table_has_one_number_per_cell_and_one_line_per_row():
    report = _cnn()
    table = _update_table(report)
    assert table.header == ["parameter", "shape", "‖∂E/∂θ‖", "‖Δθ‖", "max |Δθ|"]
    for row, param in zip(table.rows, report.data["update"]["parameters"]):
        old, grad, new = (np.asarray(param[k], dtype=np.float64) for k in ("old", "grad", "new"))
        assert row[0] == param["name"]
        assert float(row[2]) == pytest.approx(np.linalg.norm(grad), abs=1e-9)
        assert float(row[3]) == pytest.approx(np.linalg.norm(new - old), abs=1e-9)
        assert float(row[4]) == pytest.approx(np.abs(new - old).max(), abs=1e-9)
    lines = str(report).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("  parameter  shape"))
    assert all(lines[header + 2 + k].startswith("  " + row[0]) for k, row in enumerate(table.rows))


def test_frozen_tensor_in_the_update_table_of_norms_keeps_its_columns():
    X, y = cr.datasets.digits(images=True)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 10))
    model[0].bias.requires_grad = False
    report = cr.explain(model, X[0] / 16, y[0], nn.CrossEntropyLoss(), param="3.weight[0, 0]")
    row = next(r for r in _update_table(report).rows if r[0] == "0.bias")
    assert row == ["0.bias", "2", "—", "0 (requires_grad=False)", "0"]


def test_fold_keeps_an_overlong_word_whole_and_stacks_a_table_that_cannot_fit():
    from chainrule.explain.blocks import D, Eq, Num, Table
    from chainrule.explain.fold import fold_eq, table_lines

    name = "layers.0.block.attention.weight[11, 7]"
    eq = Eq([D("E", name), " = ", Num(0.25), " × ", Num(-1.5, paren=True), " = ", Num(-0.375)])
    lines = fold_eq(eq, 30)
    assert " ".join(line.strip() for line in lines) == eq.text()
    assert any(name in line for line in lines)  # never split, though longer than 30
    numbers = [[f"{k}.{k}23456789", "-0.123456789", "0.987654321"] for k in range(3)]
    table = Table(["parameter value", "gradient", "new value"], numbers, [True] * 3)
    stacked = table_lines(table, 24)
    assert stacked[:5] == [
        "parameter value:",
        "            0.023456789",  # too long beside its name: on the next line
        "       gradient:",
        "            -0.123456789",
        "      new value:",
    ]
    assert all(width(line) <= 24 for line in stacked)
    assert table_lines(Table(["a"], []), 10) == ["a", "─"]


def test_terminal_folds_equations_as_the_text_does_and_keeps_their_colour():
    pytest.importorskip("rich")
    report = examples.seed()
    plain = report.terminal_text(width=80, color=False).splitlines()
    assert max(map(width, plain)) <= 80
    start = next(i for i, line in enumerate(plain) if line.startswith("  ∂E/∂w1 = ∂E/∂out_o1"))
    text = str(report).splitlines()
    at = text.index(plain[start])
    assert plain[start : start + 3] == text[at : at + 3]  # the same breaks and indent
    coloured = report.terminal_text(width=80, color=True)
    assert "\x1b[1;36m-0.052721753" in coloured  # a number, bold cyan, on its folded line


def test_a_wrapped_cell_splits_again_when_the_rest_after_its_comma_is_still_too_long():
    from chainrule.explain.fold import wrap_cell

    # Once cut after "λ·α·e^z,", the rest "λ = 1.050700987," was 16 wide in a 14-wide column
    cell = "∂/∂#3: λ if z > 0 else λ·α·e^z, λ = 1.050700987, α = 1.673263242"
    lines = wrap_cell(cell, 14, True)
    assert all(width(line) <= 14 for line in lines), lines
    assert " ".join(lines) == cell


@pytest.mark.parametrize("activation", [nn.SELU(), nn.PReLU()])
def test_graph_table_of_selu_and_prelu_fits_80_columns(activation):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), activation, nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    rng = np.random.default_rng(1)
    report = cr.explain(model, rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), nn.MSELoss())
    assert max(width(line) for line in str(report).splitlines()) <= 80


def test_a_frozen_layer_in_the_update_table_leaves_the_parameter_names_whole():
    # "not updated (requires_grad=False)" was one 21-wide word: to fit 80 columns the table
    # broke the parameter names instead, "b.weight[0," over "0]"
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 2))
    model[0].weight.requires_grad = False
    rng = np.random.default_rng(3)
    report = cr.explain(model, rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), nn.MSELoss())
    update = str(report).split("4. The update", 1)[1].split("E before", 1)[0]
    for i in range(2):
        for j in range(3):
            assert f"2.weight[{i}, {j}]" in update
    assert max(width(line) for line in update.splitlines()) <= 80
