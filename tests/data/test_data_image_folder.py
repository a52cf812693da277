"""``image_folder:PATH``: loading small and large PNG folders, and every user error."""

import pathlib

import numpy as np
import pytest
from PIL import Image

from kd_efficacy import data
from kd_efficacy.data import augment
from kd_efficacy.errors import ConfigError

CLASSES = ("cat", "ant", "bee")  # sorted: ant=0, bee=1, cat=2


def _pixels(label: int, index: int, size) -> np.ndarray:
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(label * 100 + index)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _write_folder(
    root: pathlib.Path, size=12, train_per_class=4, test_per_class=2, classes=CLASSES
):
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for c in classes:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = _pixels(
                    sorted(classes).index(c), i + (100 if split == "test" else 0), size
                )
                Image.fromarray(pixels).save(root / split / c / f"{i:03d}.png")
    return root


def test_small_folder_loads_with_sorted_class_ids(tmp_path, take, stack):
    root = _write_folder(tmp_path / "small")
    (root / "train" / "ant" / "notes.txt").write_text("ignored")
    (root / "train" / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    d = data.build(f"image_folder:{root}", global_batch_size=4, eval_batch_size=5)
    info = d.info
    assert (info.num_classes, info.image_shape) == (3, (12, 12, 3))
    assert (info.num_train, info.num_eval, d.steps_per_epoch) == (12, 6, 3)
    assert len(info.mean) == 3 and all(0.4 < m < 0.6 for m in info.mean)
    images, labels = stack(d.test)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2])
    expected = np.stack([_pixels(label, 100 + i % 2, 12) for i, label in enumerate(labels)])
    np.testing.assert_allclose(images, expected / 255.0, atol=1e-6)  # PNG is lossless, no aug
    for batch, batch_labels in take(d.train, 4):
        assert batch.shape == (4, 12, 12, 3) and batch_labels.dtype == np.int32


def test_small_folder_is_deterministic_and_resumable(tmp_path, take):
    root = _write_folder(tmp_path / "small")
    name = f"image_folder:{root}"
    full = take(data.build(name, global_batch_size=4, seed=1).train, 5)
    resumed = take(data.build(name, global_batch_size=4, seed=1, initial_epoch=1).train, 2)
    for (a, la), (b, lb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)


def test_large_folder_uses_imagenet_geometry(tmp_path, take, stack):
    root = _write_folder(tmp_path / "large", size=80, train_per_class=2, test_per_class=1)
    Image.fromarray(_pixels(0, 7, (96, 120))).save(root / "train" / "ant" / "odd_size.png")
    d = data.build(f"image_folder:{root}", global_batch_size=4)
    assert d.info.image_shape == (80, 80, 3) and d.info.num_train == 7
    ((batch, _),) = take(d.train, 1)
    assert batch.shape == (4, 80, 80, 3)
    images, _ = stack(d.test)
    # Eval: shorter side -> round(80 / 0.875) = 91, then the central 80 x 80 (not the raw image).
    raw = _pixels(0, 100, 80) / 255.0
    np.testing.assert_allclose(
        images[0], augment.center_crop(raw.astype(np.float32), 80), atol=1e-6
    )
    assert not np.allclose(images[0], raw, atol=1e-3)
    sized = data.build(f"image_folder:{root}", global_batch_size=4, image_size=32)
    assert sized.info.image_shape == (32, 32, 3)
    assert stack(sized.train_eval)[0].shape == (7, 32, 32, 3)


def test_validation_fraction_on_a_folder(tmp_path):
    root = _write_folder(tmp_path / "small")
    info = data.describe(f"image_folder:{root}", validation_fraction=0.25)
    assert (info.num_train, info.num_eval) == (9, 3)  # one of every four images per class


def _remove(path: pathlib.Path):
    for f in sorted(path.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    path.rmdir()


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda r: _remove(r), "does not exist"),
        (lambda r: _remove(r / "train"), "missing folder .*train"),
        (lambda r: _remove(r / "test"), "missing folder .*test"),
        (lambda r: [f.unlink() for f in (r / "test").rglob("*.png")], "no images in .*test"),
        (lambda r: (r / "train" / "dog").mkdir(), r"only in train: \['dog'\]"),
        (lambda r: _remove(r / "test" / "bee"), r"only in train: \['bee'\], only in test: \[\]"),
        (
            lambda r: ((r / "train" / "dog").mkdir(), (r / "test" / "dog").mkdir()),
            r"train/ class folders \['dog'\] have no images",
        ),
        (lambda r: (r / "train" / "ant" / "000.png").write_bytes(b"junk"), "cannot decode"),
    ],
)
def test_folder_errors_are_one_line_config_errors(tmp_path, damage, fragment):
    root = _write_folder(tmp_path / "bad", train_per_class=1, test_per_class=1)
    damage(root)
    with pytest.raises(ConfigError, match=fragment) as error:
        data.build(f"image_folder:{root}", global_batch_size=1)
    assert "\n" not in str(error.value)


def test_empty_path_is_a_config_error():
    with pytest.raises(ConfigError, match="does not exist"):
        data.describe("image_folder:")
