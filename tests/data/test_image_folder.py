"""cr.data.load_image_folder on the folders users have: JPEG and PNG, a grayscale image among
RGB ones, an odd size, a corrupt file, .DS_Store, a text file, an empty class folder."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

Image = pytest.importorskip("PIL.Image")


def write(path, rgb, gray=False, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    (img.convert("L") if gray else img).save(path, fmt)


def pattern(kind, size=(8, 8), seed=0):
    a = np.random.default_rng(seed).uniform(0, 40, size=(*size, 3))
    h, w = size
    if kind == "bright":
        a[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (220, 60, 40)
    return a


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    for i in range(6):
        write(root / "bright" / f"{i}.png", pattern("bright", seed=i))
        write(root / "dark" / f"{i}.png", pattern("dark", seed=10 + i))
    return root


def test_reads_classes_in_sorted_order_as_nchw(folder):
    data = cr.data.load_image_folder(folder)
    assert data.class_names == ["bright", "dark"]
    assert data.X.shape == (12, 3, 8, 8) and data.X.dtype == np.float32
    assert data.y.tolist() == [0] * 6 + [1] * 6
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    first = np.asarray(Image.open(folder / "bright" / "0.png"), dtype=np.float32) / 255
    np.testing.assert_array_equal(data.X[0], first.transpose(2, 0, 1))
    assert data.size == (8, 8) and data.mode == "RGB" and data.notes == []


def test_the_messy_folder(folder):
    write(folder / "bright" / "gray.png", pattern("bright", seed=7), gray=True)
    write(folder / "dark" / "odd.jpg", pattern("dark", size=(11, 5)), fmt="JPEG")
    (folder / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "bright" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "bright" / "notes.txt").write_text("hello")
    (folder / ".hidden_class").mkdir()
    with pytest.raises(cr.DataError, match=r"broken\.png: cannot be read as an image.*skip_bad"):
        cr.data.load_image_folder(folder)
    data = cr.data.load_image_folder(folder, skip_bad=True)
    assert data.class_names == ["bright", "dark"]
    assert data.X.shape == (14, 3, 8, 8)
    notes = "\n".join(data.notes)
    assert "notes.txt" in notes and "broken.png" in notes and ".DS_Store" not in notes
    assert "converted 1 grayscale image(s) to RGB" in notes
    assert "resized 1 image(s) of other sizes to 8×8" in notes
    gray = data.X[data.paths.index(str(folder / "bright" / "gray.png"))]
    np.testing.assert_array_equal(gray[0], gray[1])  # the grey copied to all three channels


def test_empty_class_folder(folder):
    (folder / "empty").mkdir()
    with pytest.raises(cr.DataError, match=r"class folder 'empty' holds no images.*allow_empty"):
        cr.data.load_image_folder(folder)
    data = cr.data.load_image_folder(folder, allow_empty=True)
    assert data.class_names == ["bright", "dark", "empty"]
    assert "class(es) with no image: empty" in data.notes


def test_folder_mistakes_are_named(tmp_path, folder):
    with pytest.raises(cr.DataError, match="not a folder"):
        cr.data.load_image_folder(tmp_path / "nowhere")
    flat = tmp_path / "flat"
    write(flat / "a.png", pattern("dark"))
    with pytest.raises(cr.DataError, match=r"no class folders \(it holds 1 image file"):
        cr.data.load_image_folder(flat)
    with pytest.raises(ValueError, match="mode must be"):
        cr.data.load_image_folder(folder, mode="CMYK")
    with pytest.raises(ValueError, match="size must be"):
        cr.data.load_image_folder(folder, size=(8, 0))


def test_grayscale_folder_and_explicit_size(tmp_path):
    root = tmp_path / "g"
    for i in range(2):
        write(root / "a" / f"{i}.png", pattern("bright", seed=i), gray=True)
        write(root / "b" / f"{i}.png", pattern("dark", seed=i), gray=True)
    data = cr.data.load_image_folder(root, size=4)
    assert data.mode == "L" and data.X.shape == (4, 1, 4, 4)
    assert cr.data.load_image_folder(root, mode="RGB").X.shape == (4, 3, 8, 8)


def test_train_save_load_predict_a_new_image(folder, tmp_path):
    data = cr.data.load_image_folder(folder)
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, 2),
    )  # fmt: skip
    cr.fit(model, (data.X, data.y), nn.CrossEntropyLoss(),
           optim.Adam(model.parameters(), lr=0.02), epochs=15, batch_size=4, verbose=0)  # fmt: skip
    path = tmp_path / "m.safetensors"
    cr.save(model, path, metadata=data.metadata)
    loaded = cr.load(path)
    meta = loaded.metadata
    assert meta == {"classes": ["bright", "dark"], "image": {"size": [8, 8], "mode": "RGB"}}
    new = tmp_path / "new.png"
    write(new, pattern("bright", size=(16, 16), seed=99))  # another size: resized to 8×8
    x = cr.data.load_image(new, size=meta["image"]["size"], mode=meta["image"]["mode"])
    assert x.shape == (3, 8, 8)
    np.testing.assert_array_equal(x, data.load_image(new))
    loaded.eval()
    assert meta["classes"][int(loaded(cr.tensor(x[None])).detach().numpy().argmax())] == "bright"


def test_load_image_errors(tmp_path):
    with pytest.raises(cr.DataError, match="no such image file"):
        cr.data.load_image(tmp_path / "missing.png")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(cr.DataError, match=r"bad\.jpg: cannot be read as an image"):
        cr.data.load_image(bad)


def test_system_files_are_silent_other_files_noted_bad_images_named(folder):
    (folder / "bright" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "dark" / "desktop.ini").write_text("[.ShellClassInfo]")
    (folder / "__MACOSX" / "dark").mkdir(parents=True)  # a zip made on a Mac: not a class
    (folder / "__MACOSX" / "dark" / "._0.png").write_bytes(b"\0\5\26\7")
    (folder / "bright" / "@eaDir" / "0.png").mkdir(parents=True)  # a Synology NAS's thumbnails
    write(folder / "bright" / "@eaDir" / "0.png" / "SYNOFILE_THUMB_M.jpg", pattern("dark"))
    (folder / "dark" / "readme.txt").write_text("photos from the 2nd trip")
    data = cr.data.load_image_folder(folder)
    assert data.class_names == ["bright", "dark"] and len(data.X) == 12  # no thumbnail read
    assert data.notes == ["skipped 1 file(s) that are not images: dark/readme.txt"]

    jpeg = folder / "dark" / "cut.jpg"
    write(jpeg, np.random.default_rng(0).uniform(0, 255, (64, 64, 3)), fmt="JPEG")
    jpeg.write_bytes(jpeg.read_bytes()[:600])  # a copy that stopped half way
    with pytest.raises(cr.DataError, match=r"cut\.jpg: cannot be read as an image \(.*skip_bad"):
        cr.data.load_image_folder(folder)
    (folder / "bright" / "empty.png").write_bytes(b"")
    with pytest.raises(cr.DataError, match=r"empty\.png: is empty \(0 bytes\), not an image"):
        cr.data.load_image_folder(folder)
    (folder / "bright" / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 40)
    with pytest.raises(cr.DataError, match=r"IMG_0001\.HEIC: is a HEIC/HEIF photo.*pillow-heif"):
        cr.data.load_image(folder / "bright" / "IMG_0001.HEIC")
    data = cr.data.load_image_folder(folder, skip_bad=True)
    assert len(data.X) == 12
    assert "left out 3 file(s) that could not be read: bright/IMG_0001.HEIC, " in data.notes[1]


def test_preprocessor_read_files_can_leave_bad_files_out(folder):
    data = cr.data.load_image_folder(folder)
    pre = cr.data.ImagePreprocessor(data.size, data.mode).fit(data.X)
    bad = folder / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    good = [folder / "bright" / "0.png", folder / "dark" / "1.png"]
    with pytest.raises(cr.DataError, match=r"bad\.png: cannot be read as an image"):
        pre.read([good[0], bad, good[1]])
    X, notes, kept = pre.read_files([good[0], bad, good[1]], skip_bad=True)
    assert kept == [str(p) for p in good] and X.shape == (2, 3, 8, 8)
    assert notes == [f"left out 1 file(s) that could not be read: {bad}"]
    np.testing.assert_array_equal(X, pre.read(good)[0])


def test_images_beside_the_class_folders_are_named_in_a_note(folder):
    # they belong to no class: read nowhere, as torchvision's ImageFolder, but no longer silently
    write(folder / "stray.png", pattern("dark"))
    write(folder / "IMG_2.jpg", pattern("dark"), fmt="JPEG")
    (folder / ".thumb.png").write_bytes(b"")  # hidden: silent as everywhere else
    data = cr.data.load_image_folder(folder)
    assert len(data.X) == 12
    assert data.notes == [
        f"left out 2 image(s) lying directly in {folder}, in no class folder: IMG_2.jpg, "
        f"stray.png; move them into the subfolder of their class"
    ]


def test_the_folder_is_a_dataset_as_torchvisions_image_folder(folder):
    # DataLoader(data) raised "needs a Dataset", cr.fit(model, data) a TypeError
    data = cr.data.load_image_folder(folder)
    assert len(data) == 12
    image, label = data[7]
    np.testing.assert_array_equal(image.numpy(), data.X[7])
    assert int(label) == 1
    xb, yb = next(iter(cr.data.DataLoader(data, batch_size=5)))
    assert xb.shape == (5, 3, 8, 8) and yb.tolist() == [0] * 5
    train, test = cr.utils.data.random_split(data, [8, 4], generator=cr.Generator(0))
    assert len(train) == 8 and len(test) == 4
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2))
    history = cr.fit(model, data, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     epochs=2, verbose=0, validation_data=test)
    assert len(history.history["val_loss"]) == 2
