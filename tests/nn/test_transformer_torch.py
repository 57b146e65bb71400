"""The Transformer layers against PyTorch (outputs, input and parameter gradients, float64 tight
and float32, masks, batch_first, unbatched, pre-norm), their construction as PyTorch's (deep
copies, Xavier init, names), errors, and the rest of chainrule: finite differences, explain,
cr.compile, the ONNX exporter's and cr.save's refusals, a few training steps."""

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.testing import gradcheck

torch = pytest.importorskip("torch")
TOL = {"float64": dict(rtol=1e-10, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}
TORCH_DTYPE = {"float64": torch.float64, "float32": torch.float32}


def _pair(shape, dtype="float64", seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return cr.tensor(values, dtype=dtype, requires_grad=True), torch.tensor(
        values, requires_grad=True
    )


def _close(ours, theirs, dtype="float64"):
    np.testing.assert_allclose(np.asarray(ours.detach()), theirs.detach().numpy(), **TOL[dtype])


def _twins(make, dtype="float64"):
    """The same layer in both libraries, PyTorch's weights loaded into ours, eval mode."""
    torch.manual_seed(0)
    theirs = make(torch, dtype=TORCH_DTYPE[dtype])
    ours = make(cr, dtype=dtype)
    assert [(n, tuple(p.shape)) for n, p in ours.state_dict().items()] == [
        (n, tuple(p.shape)) for n, p in theirs.state_dict().items()
    ]
    ours.load_state_dict(theirs.state_dict())
    return ours.eval(), theirs.eval()


def _check(ours, theirs, inputs, dtype="float64", **kwargs):
    theirs_kwargs = {
        k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
    }
    out = ours(*(p[0] for p in inputs), **kwargs)
    expected = theirs(*(p[1] for p in inputs), **theirs_kwargs)
    _close(out, expected, dtype)
    grad = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(grad, dtype=dtype))
    expected.backward(torch.tensor(grad))
    for mine, their in inputs:
        _close(mine.grad, their.grad, dtype)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad is not None, name
        _close(p.grad, tp.grad, dtype)


def _shape(length, batch_first, batched=True, width=8):
    if not batched:
        return (length, width)
    return (2, length, width) if batch_first else (length, 2, width)


ENCODER_OPTIONS = [
    {},
    {"norm_first": True},
    {"activation": "gelu"},
    {"activation": "module_gelu"},
    {"activation": "function_silu"},
    {"batch_first": True},
    {"bias": False, "layer_norm_eps": 1e-3},
]


def _encoder_layer(options):
    def make(lib, dtype):
        kwargs = dict(options)
        if kwargs.get("activation") == "module_gelu":
            kwargs["activation"] = lib.nn.GELU()
        if kwargs.get("activation") == "function_silu":
            kwargs["activation"] = lib.nn.functional.silu
        return lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, dtype=dtype, **kwargs)

    return make


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", ENCODER_OPTIONS)
def test_encoder_layer_matches_torch(dtype, options):
    ours, theirs = _twins(_encoder_layer(options), dtype)
    batch_first = options.get("batch_first", False)
    padding = np.zeros((2, 5), bool)
    padding[1, 3:] = True
    _check(
        ours, theirs, [_pair(_shape(5, batch_first), dtype)], dtype, src_key_padding_mask=padding
    )


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("mask_kind", ["bool", "float", "causal", "causal_hint"])
def test_encoder_with_masks_matches_torch(batched, mask_kind):
    def make(lib, dtype):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dtype=dtype)
        kwargs = {"enable_nested_tensor": False} if lib is torch else {}
        norm = lib.nn.LayerNorm(8, dtype=dtype)
        return lib.nn.TransformerEncoder(layer, 2, norm=norm, **kwargs)

    ours, theirs = _twins(make)
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    kwargs = {
        "bool": {"mask": np.random.default_rng(1).random((5, 5)) > 0.7},
        "float": {"mask": np.random.default_rng(1).standard_normal((5, 5))},
        "causal": {"mask": causal},  # detected as causal, as PyTorch does
        "causal_hint": {"mask": np.zeros((5, 5)), "is_causal": True},  # the hint wins
    }[mask_kind]
    if batched and mask_kind != "causal_hint":
        kwargs["src_key_padding_mask"] = np.array([[False] * 5, [False] * 3 + [True] * 2])
        if mask_kind == "float":
            kwargs["src_key_padding_mask"] = np.where(kwargs["src_key_padding_mask"], -1e9, 0.0)
    _check(ours, theirs, [_pair(_shape(5, True, batched))], **kwargs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", [{}, {"norm_first": True, "batch_first": True}])
def test_decoder_layer_and_decoder_match_torch(dtype, options):
    def make(lib, dtype):
        layer = lib.nn.TransformerDecoderLayer(8, 2, 16, dtype=dtype, **options)
        return lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(8, dtype=dtype))

    ours, theirs = _twins(make, dtype)
    batch_first = options.get("batch_first", False)
    tgt, memory = _pair(_shape(4, batch_first), dtype), _pair(_shape(6, batch_first), dtype, 1)
    causal = np.triu(np.full((4, 4), -np.inf), 1).astype(dtype)
    _check(
        ours, theirs, [tgt, memory], dtype, tgt_mask=causal,
        memory_key_padding_mask=np.array([[False] * 6, [False] * 4 + [True] * 2]),
        tgt_key_padding_mask=np.array([[False] * 4, [False] * 3 + [True]]),
    )  # fmt: skip


@pytest.mark.parametrize("batched", [True, False])
def test_transformer_matches_torch(batched):
    def make(lib, dtype):
        return lib.nn.Transformer(8, 2, 2, 1, 16, dtype=dtype, batch_first=True)

    ours, theirs = _twins(make)
    src, tgt = _pair(_shape(6, True, batched), seed=1), _pair(_shape(4, True, batched), seed=2)
    mask = cr.nn.Transformer.generate_square_subsequent_mask(4, dtype="float64")
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    )
    _check(ours, theirs, [src, tgt], tgt_mask=mask.numpy(), memory_mask=np.zeros((4, 6)))


def test_encoder_layers_are_deep_copies_and_transformer_weights_start_xavier():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 3)
    firsts = [m.linear1.weight for m in encoder.layers]
    assert len({id(w) for w in firsts}) == 3 and all(w is not layer.linear1.weight for w in firsts)
    for w in firsts:
        np.testing.assert_array_equal(w.detach().numpy(), layer.linear1.weight.detach().numpy())
    model = nn.Transformer(8, 2, 1, 1, 16)
    weight = model.encoder.layers[0].linear1.weight.detach().numpy()  # fan 8 + 16
    assert np.abs(weight).max() <= np.sqrt(6 / 24) and np.abs(weight).max() > 0.8 * np.sqrt(6 / 24)
    np.testing.assert_array_equal(model.decoder.norm.weight.detach().numpy(), np.ones(8))
    theirs = torch.nn.Transformer(8, 2, 1, 1, 16)
    assert list(model.state_dict()) == list(theirs.state_dict())
    assert repr(model) == repr(theirs)


@pytest.mark.parametrize("case", ["activation", "batch", "features", "heads"])
def test_bad_arguments_raise_torchs_error_types(case):
    def run(lib):
        if case == "activation":
            return lib.nn.TransformerEncoderLayer(8, 2, activation="tanh")
        if case == "heads":
            return lib.nn.TransformerEncoderLayer(8, 3)
        model = lib.nn.Transformer(8, 2, 1, 1, 16)
        src = lib.ones(5, 2, 8)
        return model(src, lib.ones(4, 3, 8) if case == "batch" else lib.ones(4, 2, 6))

    error = AssertionError if case == "heads" else RuntimeError
    with pytest.raises(error):
        run(torch)
    with pytest.raises(error) as raised:
        run(cr)
    assert len(str(raised.value)) > 20


def test_encoder_layer_matches_finite_differences():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype="float64")
    x = cr.tensor(
        np.random.default_rng(0).standard_normal((3, 1, 4)), dtype="float64", requires_grad=True
    )
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype="float64")
    assert gradcheck(lambda x: layer(x, src_mask=causal), x)
    assert gradcheck(lambda w: layer(x.detach()) * w.sum(), layer.self_attn.in_proj_weight)


# ---- the rest of chainrule ---------------------------------------------------------------------
class Classifier(nn.Module):
    """A tiny sequence classifier: embed, a causal two-layer encoder, mean, linear."""

    def __init__(self, dropout=0.0):
        super().__init__()
        self.embed = nn.Linear(3, 8)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        causal = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.head(self.encoder(self.embed(x), mask=causal).mean(axis=1))


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    return x, (x[:, :, 0].sum(1) > 0).astype(np.int64)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_compiled_steps_equal_the_eager_steps(dropout):
    cr.manual_seed(0)
    model = Classifier(dropout)
    twin = copy.deepcopy(model)
    loss_fn = nn.CrossEntropyLoss()
    opt, twin_opt = optim.SGD(model.parameters(), lr=0.5), optim.SGD(twin.parameters(), lr=0.5)
    step = cr.compile_step(model, loss_fn, opt, backend="numpy")
    for seed in range(3):
        x, y = _data(seed)
        cr.manual_seed(seed)
        loss = step(x, y)
        cr.manual_seed(seed)
        twin_opt.zero_grad()
        twin_loss = loss_fn(twin(x), y)
        twin_loss.backward()
        twin_opt.step()
        assert loss.item() == twin_loss.item()
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


class PaddedClassifier(Classifier):
    """Its padding mask is computed from the input, which cr.compile cannot record."""

    def forward(self, x):
        padding = x[:, :, 0] > 1.0
        return self.head(self.encoder(self.embed(x), src_key_padding_mask=padding).mean(axis=1))


def test_compile_refuses_a_mask_computed_from_the_input_instead_of_freezing_it():
    model = PaddedClassifier()
    step = cr.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = _data()
    # the bool mask becomes a 0/-inf bias by an op reading it: its condition is refused
    with pytest.raises(cr.GraphError, match="op Where gets option cond= of type ndarray"):
        step(x, y)
    model(x).sum().backward()  # eager: fine


def test_training_steps_lower_the_loss_and_explain_covers_the_attention():
    cr.manual_seed(0)
    model, loss_fn = Classifier(), nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = _data()
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the causal mask's -inf once warned in the summaries
        text = str(cr.explain(model, x[:1], y[:1], loss_fn))
    assert "encoder.layers.0.self_attn.in_proj_weight" in text


def test_save_keeps_the_architecture(tmp_path):
    # (ONNX export of these layers: tests/onnx/test_onnx_attention.py, test_onnx_transformer.py)
    for layer in (nn.TransformerEncoderLayer(8, 2, 16), nn.MultiheadAttention(8, 2)):
        cr.save(layer, tmp_path / "layer.safetensors")  # tests/nn/test_registry_attention.py
        assert repr(cr.load(tmp_path / "layer.safetensors")) == repr(layer)
    model = Classifier()
    with pytest.raises(cr.ModelFormatError, match="save model.state_dict"):
        cr.save(model, tmp_path / "model.safetensors")  # a custom Module: weights only
    cr.save(model.state_dict(), tmp_path / "weights.safetensors")
    twin = Classifier()
    twin.load_state_dict(cr.load(tmp_path / "weights.safetensors"))
    data, _ = _data()
    np.testing.assert_array_equal(model(data).detach().numpy(), twin(data).detach().numpy())


def test_the_names_are_no_longer_refused_and_docstrings_run():
    import doctest
    import importlib

    names = ["MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder"]
    for name in names + ["TransformerEncoderLayer", "TransformerDecoderLayer"]:
        assert issubclass(getattr(cr.nn, name), nn.Module)
    for module in ("attention", "multihead_attention", "transformer"):
        result = doctest.testmod(importlib.import_module(f"chainrule.nn.{module}"))
        assert result.failed == 0 and result.attempted >= 1
