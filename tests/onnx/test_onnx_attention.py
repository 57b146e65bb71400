"""cr.onnx.export of nn.MultiheadAttention: the attention decomposed into standard ONNX
operators, run by ONNX Runtime against chainrule's evaluation-mode output (float32, 1e-5)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def attention(*args, **kwargs):
    cr.manual_seed(0)
    m = nn.MultiheadAttention(*args, **kwargs)
    if m.in_proj_bias is not None:  # PyTorch starts them at 0: make them count
        m.in_proj_bias.data[...] = rand(*m.in_proj_bias.shape, seed=7)
        m.out_proj.bias.data[...] = rand(*m.out_proj.bias.shape, seed=8)
    return m.eval()


def chainrule_outputs(m, *args, **kwargs) -> list:
    with cr.no_grad():
        result = m(*args, **kwargs)
    return [np.asarray(r.numpy()) for r in result if r is not None]


def check(proto, m, feeds: dict, args, kwargs=None):
    got = session(proto).run(None, feeds)
    want = chainrule_outputs(m, *args, **(kwargs or {}))
    assert len(got) == len(want)
    for ours, theirs in zip(want, got):
        np.testing.assert_allclose(theirs, ours, **TOL)


@pytest.mark.parametrize("opset", (13, 17, 21))
@pytest.mark.parametrize("heads", (1, 2, 4))
@pytest.mark.parametrize("batch_first", (True, False))
def test_self_attention_output_and_weights(opset, heads, batch_first):
    m = attention(8, heads, batch_first=batch_first)
    x = rand(3, 5, 8)
    proto = cr.onnx.export(m, None, (x, x, x), opset=opset)
    assert [i.name for i in proto.graph.input] == ["query"]  # one input for q, k and v
    assert [o.name for o in proto.graph.output] == ["output", "weights"]
    assert dims(proto.graph.input[0]) == (["batch", 5, 8] if batch_first else [3, "batch", 8])
    check(proto, m, {"query": x}, (x, x, x))


@pytest.mark.parametrize("average", (True, False))
def test_cross_attention_with_other_key_and_value_sizes(average):
    m = attention(8, 2, kdim=6, vdim=4, batch_first=True)
    q, k, v = rand(2, 3, 8, seed=1), rand(2, 7, 6, seed=2), rand(2, 7, 4, seed=3)
    kwargs = {"average_attn_weights": average}
    proto = cr.onnx.export(m, None, (q, k, v, kwargs))
    assert [i.name for i in proto.graph.input] == ["query", "key", "value"]
    check(proto, m, {"query": q, "key": k, "value": v}, (q, k, v), kwargs)
    weights = session(proto).run(["weights"], {"query": q, "key": k, "value": v})[0]
    assert weights.shape == ((2, 3, 7) if average else (2, 2, 3, 7))


def test_need_weights_false_has_one_output_and_no_bias_is_fine():
    m = attention(8, 2, bias=False)
    x = rand(5, 2, 8)
    proto = cr.onnx.export(m, None, (x, x, x, {"need_weights": False}))
    assert [o.name for o in proto.graph.output] == ["output"]
    check(proto, m, {"query": x}, (x, x, x), {"need_weights": False})


def test_unbatched_sequence():
    m = attention(8, 2)
    x = rand(5, 8)
    proto = cr.onnx.export(m, None, (x, x, x))
    assert dims(proto.graph.input[0]) == [5, 8]  # no batch axis to free
    check(proto, m, {"query": x}, (x, x, x))


def padding(batch, length, seed=0):
    """A key padding mask (True = padded) with a different number of real keys per row."""
    lengths = np.random.default_rng(seed).integers(1, length + 1, batch)
    lengths[0] = length
    return np.arange(length)[None, :] >= lengths[:, None]


MASKS = {
    "padding-bool": lambda n, length: {"key_padding_mask": padding(n, length)},
    "padding-float": lambda n, length: {
        "key_padding_mask": np.where(padding(n, length), -np.inf, 0.0).astype(np.float32)
    },
    "attn-bool": lambda n, length: {"attn_mask": np.triu(np.ones((length, length), bool), 1)},
    "attn-float": lambda n, length: {"attn_mask": rand(length, length, seed=4)},
    "attn-3d": lambda n, length: {"attn_mask": rand(n * 2, length, length, seed=5)},
    "both": lambda n, length: {
        "key_padding_mask": padding(n, length),
        "attn_mask": np.triu(np.ones((length, length), bool), 1),
    },
}


@pytest.mark.parametrize("need_weights", (True, False))
@pytest.mark.parametrize("kind", sorted(MASKS))
@pytest.mark.parametrize("batch_first", (True, False))
def test_masks_are_graph_inputs(kind, need_weights, batch_first):
    m = attention(8, 2, batch_first=batch_first)
    x = rand(*((3, 5, 8) if batch_first else (5, 3, 8)))  # batch 3, length 5
    masks = MASKS[kind](3, 5)
    kwargs = {**masks, "need_weights": need_weights}
    free = kind != "attn-3d"  # an (N·heads, L, S) mask fixes the batch size
    proto = cr.onnx.export(m, None, (x, x, x, kwargs), dynamic_batch=free)
    assert [i.name for i in proto.graph.input] == ["query", *masks]
    check(proto, m, {"query": x, **masks}, (x, x, x), kwargs)


def test_a_per_head_mask_with_a_free_batch_is_refused_naming_the_mask():
    m = attention(8, 2, batch_first=True)
    x = rand(3, 5, 8)
    with pytest.raises(cr.onnx.ExportError, match=r"cannot be dynamic \('batch'\).*3D attn_mask"):
        cr.onnx.export(m, None, (x, x, x, MASKS["attn-3d"](3, 5)))


def test_a_query_whose_keys_are_all_blocked_gets_zeros_without_weights():
    m = attention(8, 2, batch_first=True)
    x = rand(2, 4, 8)
    mask = np.zeros((4, 4), bool)
    mask[1] = True  # query 1 may attend to nothing
    kwargs = {"attn_mask": mask, "need_weights": False}
    proto = cr.onnx.export(m, None, (x, x, x, kwargs))
    (got,) = session(proto).run(None, {"query": x, "attn_mask": mask})
    (want,) = chainrule_outputs(m, x, x, x, **kwargs)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, **TOL)


def test_with_weights_a_query_whose_keys_are_all_blocked_is_nan_as_in_chainrule():
    m = attention(8, 2, batch_first=True)
    x = rand(2, 4, 8)
    mask = np.zeros((4, 4), bool)
    mask[1] = True
    proto = cr.onnx.export(m, None, (x, x, x, {"attn_mask": mask}))
    got = session(proto).run(None, {"query": x, "attn_mask": mask})
    for theirs, ours in zip(got, chainrule_outputs(m, x, x, x, attn_mask=mask)):
        assert np.isnan(ours[:, 1]).all() and not np.isnan(np.delete(ours, 1, axis=1)).any()
        np.testing.assert_allclose(theirs, ours, **TOL)  # NaN where chainrule has NaN


def test_the_causal_hint_is_a_causal_mask_made_in_the_graph():
    m = attention(8, 2, batch_first=True)
    x = rand(2, 6, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(6)
    kwargs = {"attn_mask": causal.numpy(), "need_weights": False, "is_causal": True}
    axes = {"query": {1: "sequence"}, "attn_mask": {0: "sequence", 1: "sequence"}}
    proto = cr.onnx.export(m, None, (x, x, x, kwargs), dynamic_axes=axes)
    for length in (6, 3, 9):
        y = rand(2, length, 8, seed=length)
        mask = nn.Transformer.generate_square_subsequent_mask(length).numpy()
        feeds = {"query": y, "attn_mask": mask}
        check(proto, m, feeds, (y, y, y), {**kwargs, "attn_mask": mask})


def test_a_fixed_mask_given_as_a_list_is_a_constant():
    m = attention(8, 2, batch_first=True)
    x = rand(2, 3, 8)
    mask = [[False, True, True], [False, False, True], [False, False, False]]
    proto = cr.onnx.export(m, None, (x, x, x, {"attn_mask": mask}))
    assert [i.name for i in proto.graph.input] == ["query"]
    check(proto, m, {"query": x}, (x, x, x), {"attn_mask": np.array(mask)})


@pytest.mark.parametrize("batch_first", (True, False))
def test_batch_and_sequence_lengths_are_free_with_the_masks_named_alike(batch_first):
    m = attention(8, 2, batch_first=batch_first)
    seq = 1 if batch_first else 0
    x = rand(*((3, 5, 8) if batch_first else (5, 3, 8)))
    kpm = padding(3, 5)
    axes = {"query": {seq: "sequence"}, "key_padding_mask": {1: "sequence"}}
    proto = cr.onnx.export(m, None, (x, x, x, {"key_padding_mask": kpm}), dynamic_axes=axes)
    assert dims(proto.graph.input[1]) == ["batch", "sequence"]
    assert dims(proto.graph.output[1]) == ["batch", "sequence", "sequence"]
    for batch, length in ((3, 5), (1, 2), (4, 11)):
        shape = (batch, length, 8) if batch_first else (length, batch, 8)
        y, mask = rand(*shape, seed=length), padding(batch, length, seed=batch)
        check(proto, m, {"query": y, "key_padding_mask": mask}, (y, y, y),
              {"key_padding_mask": mask})  # fmt: skip


def test_a_free_sequence_without_its_mask_is_refused_clearly():
    m = attention(8, 2, batch_first=True)
    x = rand(3, 5, 8)
    with pytest.raises(cr.onnx.ExportError, match="axis 1 of the input cannot be dynamic"):
        cr.onnx.export(
            m, None, (x, x, x, {"key_padding_mask": padding(3, 5)}),
            dynamic_axes={"query": {1: "sequence"}},
        )  # fmt: skip


@pytest.mark.parametrize("masks", ("none", "both", "attn-3d", "causal"))
@pytest.mark.parametrize(
    "options", [{"add_bias_kv": True}, {"add_zero_attn": True}, {"add_bias_kv": True,
                "add_zero_attn": True}], ids=str,
)  # fmt: skip
def test_extra_keys_and_their_mask_columns(options, masks):
    m = attention(8, 2, batch_first=True, **options)
    x = rand(3, 5, 8)
    kwargs = {"need_weights": masks != "causal"}
    if masks == "causal":
        kwargs |= {"attn_mask": np.triu(np.ones((5, 5), bool), 1), "is_causal": True}
    elif masks != "none":
        kwargs |= MASKS[masks](3, 5)
    proto = cr.onnx.export(m, None, (x, x, x, kwargs), dynamic_batch=masks != "attn-3d")
    feeds = {"query": x} | {k: v for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    check(proto, m, feeds, (x, x, x), kwargs)


def test_arguments_that_do_not_fit_forward_are_refused():
    m = attention(8, 2)
    x = rand(4, 2, 8)
    with pytest.raises(cr.onnx.ExportError, match="does not fit MultiheadAttention.forward"):
        cr.onnx.export(m, None, (x, x, x, {"mask": x}))
    with pytest.raises(cr.onnx.ExportError, match="one non-empty name per graph input"):
        cr.onnx.export(m, None, (x, x, x), input_names=["q", "k"])


def test_input_and_output_names_can_be_given():
    m = attention(8, 2)
    q, kv = rand(4, 2, 8, seed=1), rand(6, 2, 8, seed=2)
    proto = cr.onnx.export(
        m, None, (q, kv, kv), input_names=["q", "kv"], output_names=["y", "attention"]
    )
    assert [i.name for i in proto.graph.input] == ["q", "kv"]
    assert [o.name for o in proto.graph.output] == ["y", "attention"]
    check(proto, m, {"q": q, "kv": kv}, (q, kv, kv))


def test_float64_attention_stays_float64():
    m = attention(8, 2, dtype=cr.float64)
    x = rand(4, 2, 8).astype(np.float64)
    proto = cr.onnx.export(m, None, (x, x, x, {"key_padding_mask": padding(2, 4)}))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    check(proto, m, {"query": x, "key_padding_mask": padding(2, 4)}, (x, x, x),
          {"key_padding_mask": padding(2, 4)})  # fmt: skip


def test_matches_pytorch_multihead_attention():
    torch = pytest.importorskip("torch")
    m = attention(8, 2, batch_first=True)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    theirs.eval()
    x, kpm = rand(3, 5, 8), padding(3, 5)
    proto = cr.onnx.export(m, None, (x, x, x, {"key_padding_mask": kpm}))
    got = session(proto).run(None, {"query": x, "key_padding_mask": kpm})
    t = torch.tensor(x)
    with torch.no_grad():
        want = theirs(t, t, t, key_padding_mask=torch.tensor(kpm))
    for ours, oracle in zip(got, want):
        np.testing.assert_allclose(ours, oracle.numpy(), **TOL)
