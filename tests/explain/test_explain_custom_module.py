"""cr.explain on a student's own nn.Module (not a Sequential) with an embedding, a batch norm
and a layer norm: every letter of a factor's formula is said, the ids an embedding looked up
are shown, and a mean's n is given."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain.api import explain_graph


class BagOfWords(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.bn = nn.Embedding(10, 3), nn.BatchNorm1d(3)
        self.norm, self.head = nn.LayerNorm(3), nn.Linear(3, 1)

    def forward(self, ids):
        return self.head(cr.sigmoid(self.norm(self.bn(self.emb(ids).mean(dim=1)))))


def explained(param="emb.weight[4, 0]"):
    cr.manual_seed(0)
    ids, y = np.array([[1, 4, 4, 7]]), np.array([1.0])
    return cr.explain(BagOfWords(), ids, y, nn.BCEWithLogitsLoss(), param=param)


def factors(report):
    return [f for p in report.data["chains"][0]["paths"] for f in p["factors"]]


def test_a_broadcast_operand_is_named_in_the_factor_table():
    # ∂(a·b)/∂a = b where b is a norm's weight (3,) broadcast over the batch: the table said "b"
    # with no word of which number b is, while 1/b of a same-shape operand was named
    report = explained()
    for f in factors(report):
        if f["formula"] in ("a", "b"):
            assert f["refers_to"].startswith(f"{f['formula']} = "), f
    assert any("norm.weight[" in f["refers_to"] for f in factors(report))
    chain = report.data["chains"][0]
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


def test_the_broadcast_element_named_is_the_one_the_output_read():
    from chainrule.explain.chain import _broadcast_source

    out = np.arange(24).reshape(2, 3, 4)
    for shape in [(4,), (3, 1), (1, 3, 4), (2, 1, 1), (), (2, 3, 4)]:
        source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), out.shape)
        for j in range(out.size):
            assert _broadcast_source(j, out.shape, shape) == source.flat[j]
    assert _broadcast_source(0, (2, 3), (4,)) is None
    assert _broadcast_source(0, (3,), (2, 3)) is None


def test_the_ids_an_embedding_looked_up_and_a_means_n_are_shown():
    report = explained()
    lookup = next(n for n in report.data["forward"]["nodes"] if n["name"] == "emb.out")
    assert lookup["computes"] == "emb.weight[ids], ids = [[1, 4, 4, 7]]"
    means = [f for f in factors(report) if f["formula"].startswith("1/n")]
    assert means and {f["formula"] for f in means} >= {"1/n, n = 4"}  # the 4 tokens averaged
    assert {m["value"] for m in means} >= {0.25}
    assert "ids = [[1, 4, 4, 7]]" in report.text(width=None)


def test_a_slice_is_written_as_python_writes_it():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    graph = explain_graph((x[:, 1:].sum() + x[1, ::2].sum() + x[..., 0].sum()), {"x": x})
    computes = [n["computes"] for n in graph.data["forward"]["nodes"] if n["op"] == "index"]
    assert computes == ["x[:, 1:]", "x[1, ::2]", "x[..., 0]"]


class MatrixNet(nn.Module):
    """Parameters used with @, not through nn.Linear."""

    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(cr.tensor([[0.5, -0.3], [0.2, 0.8]]))
        self.b = nn.Parameter(cr.tensor([0.1, -0.1]))
        self.v = nn.Parameter(cr.tensor([[1.0], [-3.0]]))

    def forward(self, x):
        return cr.tanh(x @ self.W + self.b) @ self.v


def test_a_matmul_factor_names_the_element_it_reads():
    # ∂(x @ W)[0, 1]/∂W[0, 1] is x[0, 0]; the table said "a = x[0, 1]" (the output's index)
    report = cr.explain(
        MatrixNet(), np.array([2.0, 5.0]), np.array([0.5]), nn.MSELoss(), param="W[0, 1]"
    )
    values = {"x[0, 0]": 2.0, "x[0, 1]": 5.0, "v[0, 0]": 1.0, "v[1, 0]": -3.0}
    matmul = [f for f in factors(report) if f["formula"].startswith("∂(a@b)")]
    assert [f["refers_to"] for f in matmul] == ["b = v[1, 0]", "a = x[0, 0]"]
    for f in matmul:
        assert f["value"] == values[f["refers_to"][4:]]
    chain = report.data["chains"][0]
    assert abs(chain["total"] - chain["engine_grad"]) < 1e-12


def test_an_indexed_letter_is_not_said_to_be_the_element_at_the_output():
    # cumprod's Π x_i runs over other elements: the note read "x = x[1]" beside it
    x = cr.tensor([2.0, 3.0, 5.0], requires_grad=True)
    report = explain_graph(cr.cumprod(x, dim=0).sum(), {"x": x}, param="x[0]")
    products = [f for f in factors(report) if "x_i" in f["formula"]]
    assert len(products) == 3 and all(f["refers_to"] == "" for f in products)


def test_the_graph_table_shows_the_ids_a_lookup_read():
    # section 5 printed "index(#0)", the ids nowhere in the row, while section 1 gave them
    report = explained()
    rows = {n["name"]: n for n in report.data["graph"]}
    table = report.text(width=None).split("5. The graph")[1]
    lookup = rows["emb.out"]
    weight_row = rows["emb.weight"]["id"]
    assert lookup["lookup"] == f"#{weight_row}[ids], ids = [[1, 4, 4, 7]]"
    assert lookup["lookup"] in table


def test_a_long_id_list_shows_its_first_ids_and_its_count():
    cr.manual_seed(0)
    ids = np.arange(40).reshape(2, 20) % 10
    model = nn.Sequential(nn.Embedding(10, 2), nn.Flatten(), nn.Linear(40, 1))
    report = cr.explain(model, ids, np.zeros((2, 1)), nn.MSELoss(), param="2.bias[0]")
    lookup = next(n for n in report.data["graph"] if "lookup" in n)["lookup"]
    assert lookup.endswith(
        "[ids], ids = [0, 1, 2, 3, 4, 5, 6, 7, …] (40 ids, shape 2×20, row by row)"
    )


def test_a_lookup_factor_names_the_id_it_read():
    report = explained("emb.weight[4, 0]")  # ids [[1, 4, 4, 7]]: row 4 read twice
    lookups = [f for f in factors(report) if f["formula"].startswith("1 at the selected")]
    assert {f["refers_to"].split(":")[0] for f in lookups} == {"ids[0, 1] = 4", "ids[0, 2] = 4"}


def test_the_default_element_is_one_the_example_used():
    # the default was element 0 of every parameter: emb.weight[0, 0], a row the ids never
    # read, explained as "every path crosses a local derivative of 0, or there is no path"
    cr.manual_seed(0)
    ids, y = np.array([[1, 4, 4, 7]]), np.array([1.0])
    report = cr.explain(BagOfWords(), ids, y, nn.BCEWithLogitsLoss())
    chains = {c["param"]: c for c in report.data["chains"]}
    assert "emb.weight[1, 0]" in chains and "emb.weight[0, 0]" not in chains
    assert chains["emb.weight[1, 0]"]["paths"]


class WithSpareHead(nn.Module):
    """Two heads, of which forward uses one: ``spare`` gets no gradient (None, as in PyTorch)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 2)
        self.spare = nn.Linear(3, 2)

    def forward(self, x):
        return self.body(x).tanh()


def test_a_parameter_the_forward_pass_did_not_use_gets_a_clear_error():
    # it was "unknown parameter 'spare.weight[0, 1]'", listing names without it, though the
    # model has that parameter
    cr.manual_seed(0)
    model = WithSpareHead()
    x, y = np.array([[0.5, -1.0, 2.0]]), np.array([[0.1, 0.2]])
    with pytest.raises(ValueError, match=r"did not use it.*gradient is None.*body\.weight"):
        cr.explain(model, x, y, nn.MSELoss(), param="spare.weight[0, 1]")
    with pytest.raises(ValueError, match="unknown parameter 'nothing.weight"):
        cr.explain(model, x, y, nn.MSELoss(), param="nothing.weight[0, 1]")
    report = cr.explain(model, x, y, nn.MSELoss(), param="body.weight[0, 1]")
    assert report.data["chains"][0]["total"] == report.data["chains"][0]["engine_grad"]


@pytest.mark.parametrize(
    "x, y, says",
    [
        ([np.nan, 0.1, 0.2], [0.1, 0.2], r"x with a non-finite number \(nan\) at x\[0, 0\]"),
        ([0.5, 0.1, 0.2], [np.inf, 0.2], r"y with a non-finite number \(inf\) at y\[0, 0\]"),
        (np.zeros((0, 3)), np.zeros((0, 2)), r"empty batch: x has shape \(0, 3\)"),
    ],
)
def test_a_nan_input_or_an_empty_batch_gets_a_clear_error(x, y, says):
    # a NaN gave a whole report of NaNs without a word; an empty batch an IndexError
    cr.manual_seed(0)
    with pytest.raises(ValueError, match=says):
        cr.explain(WithSpareHead(), np.array(x), np.array(y), nn.MSELoss())


def test_a_parameter_named_without_an_index_is_told_to_give_one():
    cr.manual_seed(0)
    x, y = np.array([[0.5, -1.0, 2.0]]), np.array([[0.1, 0.2]])
    for param in ("body.weight", "body.weight[2, 0]"):
        with pytest.raises(ValueError, match="body.weight is a parameter, so give the index"):
            cr.explain(WithSpareHead(), x, y, nn.MSELoss(), param=param)
