"""cr.onnx.export of the Transformer layers (encoder/decoder layers, their stacks and
nn.Transformer), run by ONNX Runtime against chainrule's evaluation-mode output (float32, 1e-5),
at several sequence lengths under dynamic axes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# a bool padding mask beside a float causal mask: PyTorch's deprecation warning, not our concern
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")

TOL = dict(rtol=1e-5, atol=1e-5)
D_MODEL = 8


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def sequence(batch, length, batch_first, seed=0):
    return rand(*((batch, length, D_MODEL) if batch_first else (length, batch, D_MODEL)), seed=seed)


def padding(batch, length, seed=0):
    lengths = np.random.default_rng(seed).integers(1, length + 1, batch)
    lengths[0] = length
    return np.arange(length)[None, :] >= lengths[:, None]


def with_random_biases(model):
    """Non-zero biases and LayerNorm affine parameters, so every parameter shows in the output."""
    rng = np.random.default_rng(3)
    for name, p in model.named_parameters():
        if p.ndim == 1:
            p.data[...] = rng.normal(1.0 if name.endswith("norm1.weight") else 0.0, 0.3, p.shape)
    return model.eval()


def chainrule_out(model, *args, **kwargs):
    with cr.no_grad():
        return np.asarray(model(*args, **kwargs).numpy())


def encoder_layer(nhead=2, batch_first=True, norm_first=False, activation="relu", **kw):
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        D_MODEL, nhead, 16, dropout=0.1, activation=activation, batch_first=batch_first,
        norm_first=norm_first, **kw,
    )  # fmt: skip
    return with_random_biases(layer)


ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "GELU-tanh": nn.GELU(approximate="tanh")}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("norm_first", (False, True))
@pytest.mark.parametrize("batch_first", (True, False))
@pytest.mark.parametrize("nhead", (1, 4))
def test_encoder_layer_at_several_lengths(nhead, batch_first, norm_first, activation):
    layer = encoder_layer(nhead, batch_first, norm_first, ACTIVATIONS[activation])
    seq = 1 if batch_first else 0
    proto = cr.onnx.export(
        layer, None, sequence(2, 5, batch_first), dynamic_axes={"input": {seq: "sequence"}}
    )
    batch_axis = 0 if batch_first else 1
    assert dims(proto.graph.input[0])[batch_axis] == "batch"
    assert dims(proto.graph.output[0])[seq] == "sequence"
    run = session(proto)
    for batch, length in ((2, 5), (3, 1), (1, 9)):
        x = sequence(batch, length, batch_first, seed=length)
        (got,) = run.run(None, {"input": x})
        np.testing.assert_allclose(got, chainrule_out(layer, x), **TOL)


@pytest.mark.parametrize("opset", (13, 17, 21))
def test_encoder_layer_with_masks_as_inputs(opset):
    layer = encoder_layer(2, batch_first=True, activation="gelu")
    x, kpm = sequence(3, 5, True), padding(3, 5)
    mask = rand(5, 5, seed=9)
    args = (x, mask, kpm)
    proto = cr.onnx.export(layer, None, args, opset=opset)
    assert [i.name for i in proto.graph.input] == ["src", "src_mask", "src_key_padding_mask"]
    (got,) = session(proto).run(None, {"src": x, "src_mask": mask, "src_key_padding_mask": kpm})
    np.testing.assert_allclose(got, chainrule_out(layer, *args), **TOL)


def causal(length):
    return nn.Transformer.generate_square_subsequent_mask(length).numpy()


@pytest.mark.parametrize("with_padding", (False, True))
@pytest.mark.parametrize("batch_first", (True, False))
def test_encoder_stack_with_causal_mask_and_final_norm(batch_first, with_padding):
    layer = encoder_layer(2, batch_first, norm_first=True)
    encoder = with_random_biases(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D_MODEL)))
    seq = 1 if batch_first else 0
    x = sequence(2, 5, batch_first)
    kwargs = {"mask": causal(5)}
    axes = {"src": {seq: "sequence"}, "mask": {0: "sequence", 1: "sequence"}}
    if with_padding:
        kwargs["src_key_padding_mask"] = padding(2, 5)
        axes["src_key_padding_mask"] = {1: "sequence"}
    proto = cr.onnx.export(encoder, None, (x, kwargs), dynamic_axes=axes)
    run = session(proto)
    for batch, length in ((2, 5), (3, 8), (1, 2)):
        y = sequence(batch, length, batch_first, seed=length)
        feeds = {"src": y, "mask": causal(length)}
        if with_padding:
            feeds["src_key_padding_mask"] = padding(batch, length, seed=batch)
        want = chainrule_out(encoder, y, **{k: v for k, v in feeds.items() if k != "src"})
        np.testing.assert_allclose(run.run(None, feeds)[0], want, **TOL)


def decoder_layer(batch_first=True, norm_first=False, activation="relu"):
    cr.manual_seed(1)
    layer = nn.TransformerDecoderLayer(
        D_MODEL, 2, 16, activation=activation, batch_first=batch_first, norm_first=norm_first
    )
    return with_random_biases(layer)


@pytest.mark.parametrize("norm_first", (False, True))
@pytest.mark.parametrize("batch_first", (True, False))
def test_decoder_layer_with_all_masks(batch_first, norm_first):
    layer = decoder_layer(batch_first, norm_first, "gelu")
    tgt, memory = sequence(2, 4, batch_first, seed=1), sequence(2, 6, batch_first, seed=2)
    masks = {
        "tgt_mask": causal(4),
        "memory_mask": rand(4, 6, seed=3),
        "tgt_key_padding_mask": padding(2, 4, seed=4),
        "memory_key_padding_mask": padding(2, 6, seed=5),
    }
    proto = cr.onnx.export(layer, None, (tgt, memory, masks))
    assert [i.name for i in proto.graph.input] == ["tgt", "memory", *masks]
    (got,) = session(proto).run(None, {"tgt": tgt, "memory": memory, **masks})
    np.testing.assert_allclose(got, chainrule_out(layer, tgt, memory, **masks), **TOL)


@pytest.mark.parametrize("batch_first", (True, False))
def test_decoder_stack_at_several_target_and_memory_lengths(batch_first):
    decoder = with_random_biases(
        nn.TransformerDecoder(decoder_layer(batch_first), 2, norm=nn.LayerNorm(D_MODEL))
    )
    seq = 1 if batch_first else 0
    tgt, memory = sequence(2, 4, batch_first, seed=1), sequence(2, 6, batch_first, seed=2)
    axes = {
        "tgt": {seq: "target"},
        "memory": {seq: "source"},
        "tgt_mask": {0: "target", 1: "target"},
    }
    proto = cr.onnx.export(decoder, None, (tgt, memory, causal(4)), dynamic_axes=axes)
    run = session(proto)
    for batch, target, source in ((2, 4, 6), (3, 7, 2), (1, 1, 5)):
        t = sequence(batch, target, batch_first, seed=target)
        s = sequence(batch, source, batch_first, seed=source + 10)
        (got,) = run.run(None, {"tgt": t, "memory": s, "tgt_mask": causal(target)})
        np.testing.assert_allclose(got, chainrule_out(decoder, t, s, causal(target)), **TOL)


def transformer(batch_first, norm_first=False, activation="relu"):
    cr.manual_seed(2)
    model = nn.Transformer(
        D_MODEL, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
        activation=activation, batch_first=batch_first, norm_first=norm_first,
    )  # fmt: skip
    return with_random_biases(model)


@pytest.mark.parametrize("norm_first, activation", [(False, "relu"), (True, "gelu")])
@pytest.mark.parametrize("batch_first", (True, False))
def test_transformer_with_masks_and_free_lengths(batch_first, norm_first, activation):
    model = transformer(batch_first, norm_first, activation)
    seq = 1 if batch_first else 0
    src, tgt = sequence(2, 6, batch_first, seed=1), sequence(2, 4, batch_first, seed=2)
    kwargs = {"tgt_mask": causal(4), "src_key_padding_mask": padding(2, 6),
              "memory_key_padding_mask": padding(2, 6)}  # fmt: skip
    axes = {
        "src": {seq: "source"},
        "tgt": {seq: "target"},
        "tgt_mask": {0: "target", 1: "target"},
        "src_key_padding_mask": {1: "source"},
        "memory_key_padding_mask": {1: "source"},
    }
    proto = cr.onnx.export(model, None, (src, tgt, kwargs), dynamic_axes=axes)
    assert [i.name for i in proto.graph.input] == ["src", "tgt", *kwargs]
    assert dims(proto.graph.output[0])[seq] == "target"
    run = session(proto)
    for batch, source, target in ((2, 6, 4), (3, 3, 7)):
        s = sequence(batch, source, batch_first, seed=source)
        t = sequence(batch, target, batch_first, seed=target + 10)
        masks = {"tgt_mask": causal(target), "src_key_padding_mask": padding(batch, source),
                 "memory_key_padding_mask": padding(batch, source, seed=1)}  # fmt: skip
        (got,) = run.run(None, {"src": s, "tgt": t, **masks})
        np.testing.assert_allclose(got, chainrule_out(model, s, t, **masks), **TOL)


def test_transformer_matches_pytorch():
    torch = pytest.importorskip("torch")
    model = transformer(batch_first=True)
    theirs = torch.nn.Transformer(
        D_MODEL, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
        batch_first=True,
    )  # fmt: skip
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    theirs.eval()
    src, tgt = sequence(2, 6, True, seed=1), sequence(2, 4, True, seed=2)
    proto = cr.onnx.export(model, None, (src, tgt, {"tgt_mask": causal(4)}))
    (got,) = session(proto).run(None, {"src": src, "tgt": tgt, "tgt_mask": causal(4)})
    with torch.no_grad():
        want = theirs(torch.tensor(src), torch.tensor(tgt), tgt_mask=torch.tensor(causal(4)))
    np.testing.assert_allclose(got, want.numpy(), **TOL)


def test_unbatched_sequences():
    model = transformer(batch_first=False)
    src, tgt = rand(6, D_MODEL, seed=1), rand(4, D_MODEL, seed=2)
    proto = cr.onnx.export(model, None, (src, tgt))
    assert dims(proto.graph.input[0]) == [6, D_MODEL]
    (got,) = session(proto).run(None, {"src": src, "tgt": tgt})
    np.testing.assert_allclose(got, chainrule_out(model, src, tgt), **TOL)


def test_float64_encoder_layer_stays_float64():
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D_MODEL, 2, 16, batch_first=True, dtype=cr.float64).eval()
    x = sequence(2, 5, True).astype(np.float64)
    proto = cr.onnx.export(layer, None, x)
    (got,) = session(proto).run(None, {"input": x})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, chainrule_out(layer, x), rtol=1e-10, atol=1e-10)


def test_a_python_function_activation_is_refused_naming_it():
    layer = encoder_layer(activation=lambda x: x * 2)
    with pytest.raises(cr.onnx.ExportError, match="activation.*Python function"):
        cr.onnx.export(layer, None, sequence(2, 5, True))


def test_an_encoder_in_a_sequential_exports():
    model = nn.Sequential(nn.Linear(3, D_MODEL), encoder_layer(2, batch_first=True))
    model.eval()
    x = rand(2, 5, 3)
    proto = cr.onnx.export(model, None, x)
    (got,) = session(proto).run(None, {"input": x})
    np.testing.assert_allclose(got, chainrule_out(model, x), **TOL)


@pytest.mark.parametrize("batch_first", (True, False))
def test_the_cli_exports_a_saved_encoder_with_a_free_sequence(tmp_path, batch_first):
    from chainrule.cli.main import main

    encoder = nn.TransformerEncoder(encoder_layer(2, batch_first), 2, norm=nn.LayerNorm(D_MODEL))
    cr.save(encoder.eval(), tmp_path / "encoder.safetensors")
    out = tmp_path / "encoder.onnx"
    seq = 1 if batch_first else 0
    args = ["export", str(tmp_path / "encoder.safetensors"), "--onnx", str(out)]
    assert main([*args, "--input-shape", f"5,{D_MODEL}"]) == 0  # a sample is (S, E)
    fixed = ["batch", 5, D_MODEL] if batch_first else [5, "batch", D_MODEL]
    assert dims(onnx.load(str(out)).graph.input[0]) == fixed
    assert main([*args, "--input-shape", f"5,{D_MODEL}", "--dynamic-axis", f"{seq}=sequence"]) == 0
    proto = onnx.load(str(out))
    assert dims(proto.graph.input[0])[seq] == "sequence"
    assert dims(proto.graph.input[0])[1 - seq] == "batch"
    run = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    loaded = cr.load(tmp_path / "encoder.safetensors").eval()
    for batch, length in ((2, 5), (3, 9)):
        x = sequence(batch, length, batch_first, seed=length)
        np.testing.assert_allclose(run.run(None, {"input": x})[0], chainrule_out(loaded, x), **TOL)


def test_the_cli_refuses_a_transformer_of_two_inputs_clearly(tmp_path, capsys):
    from chainrule.cli.main import main

    cr.save(transformer(batch_first=True), tmp_path / "t.safetensors")
    args = ["export", str(tmp_path / "t.safetensors"), "--onnx", str(tmp_path / "t.onnx")]
    assert main([*args, "--input-shape", f"5,{D_MODEL}"]) != 0
    assert "takes 2 inputs (src, tgt); give one --input-shape for each" in capsys.readouterr().err


def test_a_stack_exported_with_the_causal_mask_follows_another_mask_it_is_given():
    # chainrule takes the causal mask as a hint because of its values; the graph must add the
    # mask it is fed, as chainrule does with any other mask
    encoder = nn.TransformerEncoder(encoder_layer(2, batch_first=True), 2).eval()
    x = sequence(2, 5, True)
    proto = cr.onnx.export(encoder, None, (x, causal(5)))
    other = rand(5, 5, seed=11)
    (got,) = session(proto).run(None, {"src": x, "mask": other})
    np.testing.assert_allclose(got, chainrule_out(encoder, x, other), **TOL)
    (got,) = session(proto).run(None, {"src": x, "mask": causal(5)})
    np.testing.assert_allclose(got, chainrule_out(encoder, x, causal(5)), **TOL)


def test_an_explicit_causal_hint_is_built_at_every_length():
    layer = encoder_layer(2, batch_first=True)
    x = sequence(2, 5, True)
    kwargs = {"src_mask": causal(5), "is_causal": True}
    axes = {"src": {1: "sequence"}, "src_mask": {0: "sequence", 1: "sequence"}}
    proto = cr.onnx.export(layer, None, (x, kwargs), dynamic_axes=axes)
    for length in (5, 8):
        y = sequence(3, length, True, seed=length)
        (got,) = session(proto).run(None, {"src": y, "src_mask": causal(length)})
        want = chainrule_out(layer, y, src_mask=causal(length), is_causal=True)
        np.testing.assert_allclose(got, want, **TOL)


def test_a_custom_encoder_is_refused_naming_it():
    class Passthrough(nn.Module):
        def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
            return src

    cr.manual_seed(0)
    model = nn.Transformer(D_MODEL, 2, 0, 1, 16, custom_encoder=Passthrough()).eval()
    src, tgt = sequence(2, 6, False, seed=1), sequence(2, 4, False, seed=2)
    with pytest.raises(cr.onnx.ExportError, match=r"encoder is a Passthrough.*register a conv"):
        cr.onnx.export(model, None, (src, tgt))
