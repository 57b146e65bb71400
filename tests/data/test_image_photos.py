"""cr.data.load_image_folder on real photos: EXIF orientation, 16-bit grayscale scans, CMYK
JPEGs, palette and transparent PNGs, big photos shrunk by max_side, and every image read
exactly as ``cr.data.load_image`` (what ``chainrule predict`` uses) reads it."""

import numpy as np
import pytest

import chainrule as cr

Image = pytest.importorskip("PIL.Image")


def two_halves(h=30, w=40):
    """Red on the left half, blue on the right: which way is up is plain to see."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = (230, 30, 30)
    a[:, w // 2 :] = (30, 30, 230)
    return a


def test_exif_orientation_is_applied(tmp_path):
    # a portrait photo stored landscape, tagged "rotate 90° clockwise to view" (orientation 6)
    img = Image.fromarray(two_halves())
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    x = cr.data.load_image(tmp_path / "turned.jpg")
    assert x.shape == (3, 40, 30)  # upright: taller than wide
    assert x[0, 2].mean() > 0.8 and x[2, 2].mean() < 0.2  # the red half is now on top
    assert x[2, -3].mean() > 0.8 and x[0, -3].mean() < 0.2


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 16 * 16).reshape(16, 16).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode.startswith("I")
    x = cr.data.load_image(tmp_path / "scan.png", mode="L")
    # was 1.0 almost everywhere: Pillow's convert("L") clips 16-bit values at 255
    np.testing.assert_allclose(x[0], np.rint(ramp / 257.0) / 255, atol=1e-7)
    rgb = cr.data.load_image(tmp_path / "scan.png", mode="RGB")
    np.testing.assert_array_equal(rgb, np.repeat(x, 3, axis=0))
    # 32-bit "I" (older Pillow's 16-bit PNG): scaled when it holds 16-bit values, else as is
    wide = Image.fromarray(ramp.astype(np.int32))
    small = Image.fromarray((ramp // 257).astype(np.int32))
    assert wide.mode == small.mode == "I"
    wide.save(tmp_path / "wide.tif")
    small.save(tmp_path / "small.tif")
    np.testing.assert_allclose(cr.data.load_image(tmp_path / "wide.tif", mode="L"), x, atol=1e-7)
    np.testing.assert_array_equal(
        cr.data.load_image(tmp_path / "small.tif", mode="L")[0], (ramp // 257) / np.float32(255)
    )


def awkward_folder(root):
    """One of each kind of file a photo folder holds, a colour telling the class."""
    (root / "red").mkdir(parents=True)
    (root / "blue").mkdir(parents=True)
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 220, 255
    rgba[:5, :5, 3] = 0  # a transparent corner
    Image.fromarray(rgba, "RGBA").save(root / "red" / "rgba.png")
    Image.new("RGB", (20, 20), (220, 20, 20)).quantize(4).save(root / "red" / "palette.gif")
    Image.new("CMYK", (20, 20), (0, 220, 220, 0)).save(root / "red" / "cmyk.jpg")
    Image.new("CMYK", (20, 20), (255, 200, 0, 0)).save(root / "blue" / "cmyk.jpg")
    p = Image.new("RGB", (20, 20), (20, 20, 220)).convert("P")
    p.save(root / "blue" / "palette.png", transparency=0)
    scan = np.linspace(0, 65535, 20 * 20).reshape(20, 20).astype(np.uint16)
    Image.fromarray(scan).save(root / "blue" / "scan16.png")
    Image.new("1", (20, 20), 1).save(root / "blue" / "bilevel.png")
    Image.new("LA", (30, 24), (90, 255)).save(root / "blue" / "gray_alpha.png")
    fade = np.zeros((20, 20, 4), np.uint8)
    fade[..., 0], fade[..., 3] = 210, np.linspace(0, 255, 20).astype(np.uint8)[None, :]
    Image.fromarray(fade, "RGBA").quantize(8).save(root / "red" / "fade.png")  # tRNS bytes
    return root


@pytest.mark.filterwarnings("error")  # Pillow's warning on palettes with alpha bytes: none
@pytest.mark.parametrize("mode", [None, "L", "RGB"])
def test_every_kind_of_file_reads_as_load_image_reads_it(tmp_path, mode):
    root = awkward_folder(tmp_path / "photos")
    data = cr.data.load_image_folder(root, mode=mode)
    assert data.mode == (mode or "RGB") and data.size == (20, 20)
    assert data.X.shape == (9, 3 if data.mode == "RGB" else 1, 20, 20)
    for path, x in zip(data.paths, data.X):  # training reads what predict will read
        np.testing.assert_array_equal(x, cr.data.load_image(path, data.size, data.mode))
    if data.mode == "RGB":
        means = {p.split("photos/")[1]: x.reshape(3, -1).mean(axis=1) for p, x in
                 zip(data.paths, data.X)}  # fmt: skip
        for name in ("red/rgba.png", "red/palette.gif", "red/cmyk.jpg", "red/fade.png"):
            assert means[name][0] > 0.8 and means[name][2] < 0.2, (name, means[name])
        for name in ("blue/cmyk.jpg", "blue/palette.png"):
            assert means[name][2] > 0.8 and means[name][0] < 0.2, (name, means[name])
        assert 0.45 < means["blue/scan16.png"][0] < 0.55  # a ramp, not white
    notes = "\n".join(data.notes)
    assert "dropped the transparency of 4 image(s)" in notes
    assert "resized 1 image(s) of other sizes to 20×20" in notes


def test_max_side_shrinks_big_photos_keeping_their_shape(tmp_path):
    for name, i in (("a", 0), ("a", 1), ("b", 0), ("b", 1)):
        (tmp_path / name).mkdir(exist_ok=True)
        Image.fromarray(two_halves(120, 160)).save(tmp_path / name / f"{i}.jpg")
    Image.fromarray(two_halves(100, 100)).save(tmp_path / "b" / "square.jpg")
    calls = []
    data = cr.data.load_image_folder(
        tmp_path, max_side=32, progress=lambda done, total: calls.append((done, total))
    )
    assert data.size == (24, 32) and data.X.shape == (5, 3, 24, 32)
    assert any("most common size, 120×160, shrunk to at most 32 pixels" in n for n in data.notes)
    assert (
        "1 image(s) not of 120×160 (another shape, e.g. portrait among landscape) were "
        "resized to 24×32 too; pass size=(H, W) to choose" in data.notes
    )
    assert calls == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    for path, x in zip(data.paths, data.X):
        np.testing.assert_array_equal(x, cr.data.load_image(path, (24, 32)))
    # no max_side: the most common size, as before; small images are never enlarged
    assert cr.data.load_image_folder(tmp_path).size == (120, 160)
    assert cr.data.load_image_folder(tmp_path, max_side=500).size == (120, 160)
    # the orientation counts: two photos tagged as turned make the portrait size the default
    for i in (0, 1):
        img = Image.fromarray(two_halves(120, 160))
        exif = img.getexif()
        exif[0x0112] = 8
        img.save(tmp_path / "a" / f"{i}.jpg", exif=exif.tobytes())
        img.save(tmp_path / "b" / f"{i}.jpg", exif=exif.tobytes())
    assert cr.data.load_image_folder(tmp_path, max_side=32).size == (32, 24)
    with pytest.raises(ValueError, match="max_side must be a positive int"):
        cr.data.load_image_folder(tmp_path, max_side=0)
