"""The Python examples of docs/cnn.md, docs/diagnose.md and docs/explain.md run as written,
one page in one namespace, in a folder that holds what a user would have (a folder of images
for cnn.md)."""

from pathlib import Path

import numpy as np
import pytest


def pet_photos(root: Path) -> None:
    """pets/cat and pets/dog, JPEG and PNG of two sizes, and new_photo.jpg beside them."""
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for label, colour in (("cat", (200, 120, 40)), ("dog", (40, 90, 200))):
        (root / "pets" / label).mkdir(parents=True)
        for i in range(12):
            size = (40, 40) if i % 4 else (48, 36)
            pixels = rng.uniform(0, 60, size=(*size, 3))
            pixels[8:-8, 8:-8] = colour
            suffix = "jpg" if i % 2 else "png"
            Image.fromarray(pixels.astype(np.uint8)).save(root / "pets" / label / f"{i}.{suffix}")
    pixels = rng.uniform(0, 60, size=(50, 50, 3))
    pixels[10:-10, 10:-10] = (200, 120, 40)
    Image.fromarray(pixels.astype(np.uint8)).save(root / "new_photo.jpg")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cnn_page(tmp_path, run_doc_page):
    pet_photos(tmp_path)
    run_doc_page("cnn.md")


@pytest.mark.parametrize("page", ["diagnose.md", "explain.md"])
def test_page(page, run_doc_page):
    run_doc_page(page)
