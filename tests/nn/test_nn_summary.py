"""model.summary(): Keras's table of layers, output shapes and parameter counts."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.summary import summary


def mlp():
    return nn.Sequential(
        nn.Linear(4, 16),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Sequential(nn.Linear(16, 8), nn.Tanh()),
        nn.Dropout(0.5),
        nn.Linear(8, 3),
    )


def test_rows_shapes_and_counts():
    model = mlp()
    s = summary(model, (4,))
    assert [r.name for r in s.rows] == ["0", "1", "2", "3", "3.0", "3.1", "4", "5"]
    assert [r.type for r in s.rows][:2] == ["Linear", "BatchNorm1d"]
    assert [r.output_shape for r in s.rows] == [(None, 16)] * 3 + [(None, 8)] * 4 + [(None, 3)]
    assert [r.params for r in s.rows] == [80, 32, 0, 0, 136, 0, 0, 27]
    assert s.total_params == model.num_parameters() == 275
    assert s.trainable_params == 275 and s.non_trainable_params == 0
    assert s.total_bytes == 275 * 4
    assert s.input_shape == (None, 4) and s.output_shape == (None, 3)
    assert [r.depth for r in s.rows][3:6] == [0, 1, 1]


def test_frozen_and_shared_parameters():
    shared = nn.Linear(5, 5)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(5, 2))
    model[3].requires_grad_(False)
    s = summary(model, 5)
    assert s.total_params == 30 + 12  # the shared layer once
    assert s.trainable_params == 30 and s.non_trainable_params == 12
    assert s.total_bytes == 42 * 4 and s.trainable_bytes == 30 * 4


def test_example_input_for_ids_and_custom_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 4)
            self.head = nn.Linear(12, 2)

        def forward(self, ids):
            return self.head(self.embed(ids).reshape(ids.shape[0], -1))

    s = summary(Net(), example_input=np.zeros((7, 3), dtype=np.int64))
    assert [(r.name, r.output_shape) for r in s.rows] == [
        ("embed", (None, 3, 4)),
        ("head", (None, 2)),
    ]
    assert s.output_shape == (None, 2)


def test_matches_a_real_forward_pass():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.GELU(), nn.Linear(6, 2))
    x = np.random.default_rng(0).normal(size=(9, 3, 4)).astype(np.float32)
    s = summary(model, (3, 4))
    assert s.output_shape[1:] == model(x).shape[1:]
    assert s.rows[0].output_shape == (None, 12)


def test_without_input_lists_layers_and_says_how():
    s = summary(mlp())
    assert all(r.output_shape is None for r in s.rows) and s.total_params == 275
    assert "pass input_size" in str(s)


def test_module_method_prints_and_leaves_the_model_alone(capsys):
    model = mlp()
    model.train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.summary((4,))
    text = capsys.readouterr().out
    assert 'Model: "Sequential"' in text and "Total params: 275" in text
    assert "(None, 16)" in text and "3.0 (Linear)" in text
    assert model.training and model[1].training
    assert all("forward" not in m.__dict__ for m in model.modules())
    after = model.state_dict()  # BatchNorm's running statistics untouched (eval mode)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    lines = []
    model.summary(print_fn=lines.append)
    assert len(lines) == 1 and "Trainable params: 275" in lines[0]


def test_bad_input():
    with pytest.raises(ValueError, match="not both"):
        summary(mlp(), (4,), example_input=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="shape of one sample"):
        summary(mlp(), "four")
    with pytest.raises(ValueError, match="positive"):
        summary(mlp(), (0,))
    with pytest.raises(cr.ShapeError):  # the model's own message for a wrong input size
        summary(mlp(), (5,))


def test_docs_nn_md_table_is_what_summary_prints(capsys):
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "nn.md").read_text(encoding="utf-8")
    block = page.split(">>> model.summary((4,))\n", 1)[1].split("```", 1)[0]
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    model.summary((4,))
    assert capsys.readouterr().out == block


def test_a_model_with_its_own_parameters_has_a_row():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(3, np.float32))
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            return self.inner(x) * self.scale

    s = summary(Scaled(), (3,))
    assert [(r.name, r.params) for r in s.rows] == [("(model)", 3), ("inner", 12)]
    assert s.rows[0].output_shape == (None, 3) and s.total_params == 15


class _Recurrent(nn.Module):
    """An LSTM whose last step feeds a GRU cell: tuple outputs, nested for the LSTM."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(12, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        seq, h_n = self.rnn(out.transpose(0, 1))
        return self.head(h_n[-1]), seq


def test_tuple_outputs_show_each_tensors_shape_nested():
    model = _Recurrent()
    result = summary(model, (5, 4))
    rows = {row.name: row.output_shape for row in result.rows}
    x = cr.zeros(3, 5, 4)
    out, (h_n, c_n) = model.lstm(x)
    assert (out.shape, h_n.shape, c_n.shape) == ((3, 5, 12), (4, 3, 6), (4, 3, 6))
    assert rows["lstm"] == [(None, 5, 12), [(4, None, 6), (4, None, 6)]]
    assert rows["rnn"] == [(5, None, 3), (1, None, 3)]
    assert rows["head"] == (None, 1)
    assert result.output_shape == [(None, 1), (5, None, 3)]
    text = str(result)
    assert "[(None, 5, 12), [(4, None, 6), (4, None, 6)]]" in text
    assert "[(5, None, 3), (1, None, 3)]" in text
    assert "()" not in text


def test_a_model_of_several_inputs_takes_a_list_of_shapes_or_a_tuple_of_batches():
    bilinear = nn.Bilinear(3, 4, 2)
    by_size = summary(bilinear, [(3,), (4,)])
    a, b = np.zeros((5, 3), np.float32), cr.zeros((5, 4))
    by_example = summary(bilinear, example_input=(a, b))
    assert by_size.input_shape == by_example.input_shape == [(None, 3), (None, 4)]
    assert by_size.output_shape == by_example.output_shape == (None, 2)
    transformer = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
    s = summary(transformer, [(6, 8), (5, 8)])
    out = transformer(cr.zeros((2, 6, 8)), cr.zeros((2, 5, 8)))
    assert s.output_shape == (None, *out.shape[1:]) == (None, 5, 8)  # tgt's length, d_model


def test_a_list_of_samples_for_a_model_of_one_input_is_still_its_batch():
    model = nn.Linear(3, 2)
    s = summary(model, example_input=[np.zeros(3, np.float32), np.ones(3, np.float32)])
    assert s.input_shape == (None, 3) and s.output_shape == (None, 2)


def test_input_size_for_a_model_that_starts_with_an_embedding_makes_integer_ids(capsys):
    # The float zeros made for input_size were refused by the Embedding ("needs integer ids"),
    # so model.summary((7,)) on a text model failed; cr.fit keeps such inputs as ids too
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4, padding_idx=0)
            self.lstm = nn.LSTM(4, 6, batch_first=True)
            self.head = nn.Linear(6, 2)

        def forward(self, ids):
            lengths = (ids != 0).sum(1)  # a model that reads its lengths from the padding
            packed = nn.utils.rnn.pack_padded_sequence(
                self.embed(ids), lengths, batch_first=True, enforce_sorted=False
            )
            _, (h_n, _) = self.lstm(packed)
            return self.head(h_n[-1])

    s = summary(Classifier(), (7,))
    assert [r.name for r in s.rows] == ["embed", "lstm", "head"]
    assert s.rows[0].output_shape == (None, 7, 4) and s.output_shape == (None, 2)
    Classifier().summary((7,))
    assert "(None, 2)" in capsys.readouterr().out
    assert summary(nn.Embedding(5, 3), 4).output_shape == (None, 4, 3)  # id 0 when not padding
