"""cr.explain as a user calls it on a CNN and on models with Dropout or BatchNorm: one image
without its batch axis, the numbers against PyTorch, what the report says about eval mode, and
formulas whose value includes a mean's 1/n."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain.datamodel import Explanation

torch = pytest.importorskip("torch")


def small_cnn():
    cr.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * 3 * 3, 3),
    )


def torch_cnn(model):
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 3 * 3, 3),
    ).double()
    twin.load_state_dict(
        {k: torch.tensor(np.asarray(v, np.float64)) for k, v in model.state_dict().items()}
    )
    return twin


def test_one_image_without_batch_axis_is_one_sample():
    # a (C, H, W) image for a network that starts with Conv2d used to reach Linear as a
    # batch of 2 rows and fail with a ShapeError about Linear's input
    model = small_cnn()
    image = np.random.default_rng(0).normal(size=(1, 6, 6))
    report = cr.explain(model, image, np.array(1), nn.CrossEntropyLoss(), lr=0.1,
                        param=["0.weight[1, 0, 2, 2]", "4.bias[2]"])  # fmt: skip
    twin = torch_cnn(model)
    loss = torch.nn.functional.cross_entropy(twin(torch.tensor(image[None])), torch.tensor([1]))
    loss.backward()
    d = report.data
    assert d["loss"]["value"] == pytest.approx(loss.item(), abs=1e-12)
    grads = {n: p.grad.numpy() for n, p in twin.named_parameters()}
    for p in d["parameters"]:
        np.testing.assert_allclose(p["grad"], grads[p["name"]], atol=1e-12)
    chain = d["chains"][0]
    assert chain["total"] == pytest.approx(grads["0.weight"][1, 0, 2, 2], abs=1e-12)
    assert chain["total"] == pytest.approx(sum(p["product"] for p in chain["paths"]), abs=1e-12)


def test_batch_of_images_keeps_its_axis():
    model = small_cnn()
    images = np.random.default_rng(1).normal(size=(2, 1, 6, 6))
    report = cr.explain(model, images, np.array([1, 2]), nn.CrossEntropyLoss(), lr=0.1)
    twin = torch_cnn(model)
    loss = torch.nn.functional.cross_entropy(twin(torch.tensor(images)), torch.tensor([1, 2]))
    assert report.data["loss"]["value"] == pytest.approx(loss.item(), abs=1e-12)
    # was 1: a CNN is explained op by op, and only layered networks counted their samples
    assert report.data["batch_size"] == 2
    assert "2 samples" in " ".join(report.text().split())
    chain = report.data["chains"][0]
    loss.backward()
    w = dict(twin.named_parameters())[chain["param"].split("[")[0]].grad.numpy()
    assert chain["total"] == pytest.approx(w.flat[0], abs=1e-12)
    # each path names the image it runs through
    samples = {p["sample"] for p in chain["paths"]}
    assert samples == {0, 1}


def test_class_names_are_shown_beside_the_indices():
    cr.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3))
    names = ["cat", "dog", "emu"]
    report = cr.explain(mlp, np.ones(3), np.array(2), nn.CrossEntropyLoss(), class_names=names)
    text = " ".join(report.text().split())
    assert "Target t = 2 (class 'emu')." in text  # was "Target t = [2]."
    assert "z2[0] (cat)" in text and "z2[2] (emu)" in text
    assert report.data["class_names"] == names
    assert Explanation.from_dict(report.data).class_names == names
    # the update section names the predicted class before and after the step
    assert "Predicted class: 'emu' before the step, 'emu' after it." in text
    assert report.data["update"]["predicted"] == {"before": ["emu"], "after": ["emu"]}
    assert Explanation.from_dict(report.data).update.predicted == report.data["update"]["predicted"]
    binary = nn.Sequential(nn.Linear(3, 1))
    two = cr.explain(binary, np.ones((2, 3)), np.array([[1.0], [0.0]]), nn.BCEWithLogitsLoss(),
                     class_names=["no", "yes"])  # fmt: skip
    assert "1 (yes)" in two.text() and "0 (no)" in two.text()
    images = np.random.default_rng(1).normal(size=(2, 1, 6, 6))
    cnn = cr.explain(small_cnn(), images, np.array([1, 2]), nn.CrossEntropyLoss(),
                     class_names=names)  # fmt: skip
    assert "Target t = [1, 2] (classes 'dog', 'emu')." in " ".join(cnn.text().split())
    assert len(cnn.data["update"]["predicted"]["after"]) == 2  # op by op (a CNN) too
    plain = cr.explain(mlp, np.ones(3), np.array(2), nn.CrossEntropyLoss())
    assert "class_names" not in plain.data and "(cat)" not in plain.text()
    assert "predicted" not in plain.data["update"] and "Predicted" not in plain.text()


def test_conv_weight_factor_is_the_input_under_the_tap():
    model = small_cnn()
    image = np.random.default_rng(0).normal(size=(1, 6, 6))
    report = cr.explain(model, image, np.array(1), nn.CrossEntropyLoss(),
                        param="0.weight[1, 0, 2, 2]")  # fmt: skip
    padded = np.pad(image[0], 1)
    for path in report.data["chains"][0]["paths"]:
        factor = path["factors"][-1]
        assert "input under tap (i, j)" in factor["formula"]
        assert "Σ over output positions" not in factor["formula"]
        # the symbol names the output element ∂v[n, o, y, x]/∂...: read y, x back
        y, x = (int(v) for v in factor["symbol"].split("[")[1].split("]")[0].split(",")[2:])
        assert factor["value"] == pytest.approx(padded[y + 2, x + 2], abs=1e-15)


def test_mean_loss_factor_formula_says_divided_by_n():
    # op by op, the loss's factor value includes the mean's 1/n: the formula must say so
    model = small_cnn()
    images = np.random.default_rng(1).normal(size=(2, 1, 6, 6))
    report = cr.explain(model, images, np.array([1, 2]), nn.CrossEntropyLoss(), param="4.bias[0]")
    first = report.data["chains"][0]["paths"][0]["factors"][0]
    assert first["formula"].endswith("/n, n = 2")
    assert "/n, n = 2" in report.text()
    one = cr.explain(model, images[0], np.array(1), nn.CrossEntropyLoss(), param="4.bias[0]")
    assert "/n" not in one.data["chains"][0]["paths"][0]["factors"][0]["formula"]  # n = 1


def test_eval_mode_is_stated_for_dropout_and_batchnorm():
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2)
    )
    x = np.random.default_rng(4).normal(size=(4, 3))
    report = cr.explain(model, x, np.array([0, 1, 1, 0]), nn.CrossEntropyLoss())
    note, formula = report.data["notes"]  # the mode, then the batch norm's eval formula
    assert "evaluation mode" in note and "Dropout is off" in note
    assert "BatchNorm1d uses its running mean and variance" in note
    assert "out = (x − 1.running_mean) · 1.inv_std" in formula
    assert note in " ".join(report.text().split())
    # survives the JSON round trip
    assert Explanation.from_dict(report.data).notes == [note, formula]


@pytest.mark.parametrize(
    "middle",
    [[], [nn.Dropout(0.0)], [nn.BatchNorm1d(1, track_running_stats=False)]],
    ids=["plain", "dropout-p0", "batchnorm-no-running-stats"],
)
def test_no_note_where_eval_mode_changes_nothing(middle):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1), *middle, nn.Sigmoid(), nn.Linear(1, 1), nn.Sigmoid())
    x = np.array([[0.3, -0.2], [0.1, 0.5]])
    report = cr.explain(model, x, np.array([[1.0], [0.0]]), nn.BCELoss())
    assert "notes" not in report.data
    assert "evaluation mode" not in report.text()


@pytest.mark.parametrize(
    ("first", "sample"),
    [
        (lambda: torch.nn.Conv3d(1, 2, 3), (1, 5, 5, 5)),
        (lambda: torch.nn.ConvTranspose3d(1, 1, 2), (1, 4, 4, 4)),
        (lambda: torch.nn.MaxPool3d(2), (1, 4, 4, 4)),
        (lambda: torch.nn.AvgPool3d(2), (1, 4, 4, 4)),
        (lambda: torch.nn.InstanceNorm3d(1), (1, 4, 4, 4)),
        (lambda: torch.nn.InstanceNorm2d(1), (1, 4, 4)),
        (lambda: torch.nn.InstanceNorm1d(1), (1, 6)),
        (lambda: torch.nn.ZeroPad2d(1), (1, 3, 3)),
        (lambda: torch.nn.ReflectionPad3d(1), (1, 3, 3, 3)),
        (lambda: torch.nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 2)),
    ],
    ids=lambda v: v if isinstance(v, tuple) else type(v()).__name__,
)
def test_one_sample_without_batch_axis_for_3d_norm_pad_and_upsample_layers(first, sample):
    # a (C, D, H, W) volume for a network that starts with Conv3d (or a (C, H, W) image for
    # InstanceNorm2d, ...) was read as a batch and failed in the Linear after Flatten
    layer = first()
    torch.manual_seed(0)
    with torch.no_grad():
        features = layer(torch.zeros((1, *sample))).numel()
    twin = torch.nn.Sequential(layer, torch.nn.Flatten(), torch.nn.Linear(features, 2)).double()
    model = nn.Sequential(
        getattr(nn, type(layer).__name__)(*_args(layer)), nn.Flatten(), nn.Linear(features, 2)
    )
    model.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()}, strict=False)
    x = np.random.default_rng(0).normal(size=sample)
    report = cr.explain(model, x, np.array(1), nn.CrossEntropyLoss())
    loss = torch.nn.functional.cross_entropy(twin(torch.tensor(x[None])), torch.tensor([1]))
    assert report.data["batch_size"] == 1
    assert report.data["loss"]["value"] == pytest.approx(loss.item(), abs=1e-10)


def _args(layer) -> tuple:
    """The constructor arguments of the chainrule twin of ``layer``."""
    if isinstance(layer, (torch.nn.Conv3d, torch.nn.ConvTranspose3d)):
        return layer.in_channels, layer.out_channels, layer.kernel_size
    if isinstance(layer, (torch.nn.MaxPool3d, torch.nn.AvgPool3d)):
        return (layer.kernel_size,)
    if isinstance(layer, torch.nn.modules.instancenorm._InstanceNorm):
        return (layer.num_features,)
    if isinstance(layer, torch.nn.UpsamplingNearest2d):
        return (None, layer.scale_factor)
    return (layer.padding,)


def test_a_model_of_two_inputs_is_refused_with_what_to_do():
    model = nn.Bilinear(3, 4, 1)
    x = (np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="takes the model's input as one array, got a tuple of 2"):
        cr.explain(model, x, np.zeros((1, 1)), nn.MSELoss())
