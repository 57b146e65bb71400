"""load_image_folder / load_image on input a user gets wrong: float pixels, a bad size."""

import numpy as np
import pytest

import chainrule as cr

Image = pytest.importorskip("PIL.Image")


def _folder(tmp_path):
    root = tmp_path / "imgs"
    for label, value in (("a", 30), ("b", 200)):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((6, 6), value + i, np.uint8)).save(root / label / f"{i}.png")
    return root


def test_float_pixels_in_0_1_are_named_not_read_as_black(tmp_path):
    # Pillow's convert("L") clipped [0, 1] floats to 0 or 1 of 255: a black image, no word said
    root = _folder(tmp_path)
    Image.fromarray(np.full((6, 6), 0.75, np.float32)).save(root / "a" / "depth.tiff")
    with pytest.raises(cr.DataError, match=r"depth\.tiff.*floating-point pixels.*8-bit"):
        cr.data.load_image_folder(root)
    with pytest.raises(cr.DataError, match="floating-point"):
        cr.data.load_image(root / "a" / "depth.tiff", size=6, mode="L")
    data = cr.data.load_image_folder(root, skip_bad=True)
    assert len(data.paths) == 4 and "depth.tiff" in data.notes[0]


def test_float_pixels_holding_whole_8_bit_values_are_read_as_they_are(tmp_path):
    path = tmp_path / "whole.tiff"
    Image.fromarray(np.full((4, 5), 200.0, np.float32)).save(path)
    np.testing.assert_array_equal(cr.data.load_image(path, mode="L"), np.float32(200) / 255)


@pytest.mark.parametrize("size", [4.5, True, (True, 3), "16", (4,), (0, 4)])
def test_a_bad_size_is_a_value_error_naming_it(tmp_path, size):
    root = _folder(tmp_path)
    with pytest.raises(ValueError, match="size must be a positive int or a pair"):
        cr.data.load_image_folder(root, size=size)


def test_size_as_a_list_or_array_is_a_pair(tmp_path):
    root = _folder(tmp_path)
    assert cr.data.load_image_folder(root, size=[3, 5]).X.shape == (4, 1, 3, 5)
    assert cr.data.load_image_folder(root, size=np.array([3, 5])).X.shape == (4, 1, 3, 5)
