"""``chainrule export`` of a model trained on a folder of images: the graph takes the decoded
uint8 pixels (N×H×W×C) and standardises them itself, so ONNX Runtime on the images gives
``chainrule predict``'s labels and probabilities (the network alone stays ``--network-only``)."""

import csv

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
Image = pytest.importorskip("PIL.Image")
ImageOps = pytest.importorskip("PIL.ImageOps")


def write_spots(root, classes, mode, n=8, size=(12, 10), seed=0):
    """A bright spot on a dim background, its colour (or place, in gray) telling the class;
    a few images of another size, so that predict resizes some."""
    rng = np.random.default_rng(seed)
    colours = [(230, 40, 40), (40, 220, 60), (50, 60, 240)]
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = size if i % 4 else (size[0] + 5, size[1] + 3)
            a = rng.uniform(0, 70, (h, w, 3))
            y, x = int(rng.integers(2, h - 3)), (w // 4 if c == 0 else 3 * w // 4)
            a[y - 2 : y + 2, x - 2 : x + 2] = colours[c]
            img = Image.fromarray(a.astype(np.uint8), "RGB")
            (img.convert("L") if mode == "L" else img).save(root / name / f"{i}.png")
    return root


def pixels(path, size, mode):
    """What a deployment does before the graph: decode upright, convert, resize (Pillow)."""
    img = ImageOps.exif_transpose(Image.open(path)).convert(mode)
    h, w = size
    if (img.height, img.width) != (h, w):
        img = img.resize((w, h), Image.BILINEAR)
    a = np.asarray(img)
    return a[..., None] if a.ndim == 2 else a


@pytest.mark.parametrize(
    "classes, mode, extra",
    [
        (("left", "right"), "L", []),  # two classes: BCE, one output
        (("red", "green", "blue"), "RGB", []),  # cross-entropy
        (("left", "right"), "RGB", ["--loss", "ce"]),  # two outputs
    ],
)
def test_exported_image_model_equals_predict(tmp_path, classes, mode, extra):
    root = write_spots(tmp_path / "pics", classes, mode)
    model = tmp_path / "m.safetensors"
    args = ["train", str(root), "--epochs", "3", "--no-plots", "--out", str(model), *extra]
    assert main(args) == 0
    assert main(["export", str(model), "--onnx", str(tmp_path / "m.onnx")]) == 0
    predict = ["predict", str(model), str(root), "--proba", "--out", str(tmp_path / "p.csv")]
    assert main(predict) == 0
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]

    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "image" and inp.type == "tensor(uint8)"
    assert inp.shape == ["batch", 12, 10, 1 if mode == "L" else 3]
    x = np.stack([pixels(row[0], (12, 10), mode) for row in rows])
    labels, probs = session.run(["label", "probabilities"], {"image": x})
    assert list(labels) == [row[1] for row in rows]
    np.testing.assert_allclose(probs, [[float(p) for p in row[2:]] for row in rows], atol=1e-5)

    # the unrounded probabilities too, through the Python API
    loaded = cr.load(model)
    pre = cr.data.ImagePreprocessor.from_dict(loaded.metadata["preprocessing"])
    raw = cr.predict(loaded, pre.transform(pre.read([r[0] for r in rows])[0]))
    if len(classes) == 2 and not extra:
        p1 = 1 / (1 + np.exp(-raw.reshape(-1)))
        expected = np.stack([1 - p1, p1], axis=1)
    else:
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        expected = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props["chainrule.image.size"] == "[12, 10]" and props["chainrule.image.mode"] == mode
    assert props["chainrule.input.layout"] == "NHWC uint8 0-255"


def test_network_only_and_python_api(tmp_path):
    root = write_spots(tmp_path / "pics", ("left", "right"), "L")
    model = tmp_path / "m.safetensors"
    assert main(["train", str(root), "--epochs", "1", "--no-plots", "--out", str(model)]) == 0
    bare = tmp_path / "net.onnx"
    assert main(["export", str(model), "--onnx", str(bare), "--network-only"]) == 0
    session = ort.InferenceSession(str(bare), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.type == "tensor(float)" and inp.shape[1:] == [1, 12, 10]
    x = np.random.default_rng(0).normal(size=(3, 1, 12, 10)).astype(np.float32)
    (got,) = session.run(None, {inp.name: x})
    np.testing.assert_allclose(got, cr.predict(cr.load(model), x), rtol=1e-4, atol=1e-5)
    # cr.onnx.export_pipeline recognises a model of images, at every opset chainrule writes
    pixels = np.random.default_rng(1).integers(0, 256, (4, 12, 10, 1), dtype=np.uint8)
    results = []
    for opset in (13, 17, 21):
        proto = cr.onnx.export_pipeline(cr.load(model), None, opset=opset)
        assert [i.name for i in proto.graph.input] == ["image"]
        assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
        session = ort.InferenceSession(
            proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        results.append(session.run(None, {"image": pixels}))
    pre = cr.data.ImagePreprocessor.from_dict(cr.load(model).metadata["preprocessing"])
    x = pre.transform(pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255))
    p1 = 1 / (1 + np.exp(-cr.predict(cr.load(model), x).reshape(-1)))
    for labels, probs in results:
        np.testing.assert_allclose(probs[:, 1], p1, atol=1e-5)
        assert list(labels) == [["left", "right"][int(p > 0.5)] for p in p1]


def test_metadata_problems_are_export_errors(tmp_path):
    root = write_spots(tmp_path / "pics", ("left", "right"), "L", n=4)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(root), "--epochs", "1", "--no-plots", "--out", str(model)]) == 0
    loaded = cr.load(model)
    meta = {k: v for k, v in loaded.metadata.items() if k != "task"}
    with pytest.raises(cr.onnx.ExportError, match="unknown task None"):  # was AttributeError
        cr.onnx.export_pipeline(loaded, None, meta)
    unfitted = dict(loaded.metadata["preprocessing"], mean=None, std=None)
    with pytest.raises(cr.onnx.ExportError, match="never fitted"):
        cr.onnx.export_pipeline(loaded, None, {**loaded.metadata, "preprocessing": unfitted})
