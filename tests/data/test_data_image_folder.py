"""``image_folder:PATH``: small and large folders, the decoded-once cache, and every user error.

Builds pass ``validation_fraction`` explicitly so the counts do not hang on the builder's default.
"""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kd_efficacy import data
from kd_efficacy.data import augment, image_folder
from kd_efficacy.errors import ConfigError

CLASSES = ("cat", "ant", "bee")  # sorted: ant=0, bee=1, cat=2
CIFAR = pathlib.Path("/work/cache/cifar10")  # the extracted CIFAR-10 folder, where present


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """An empty per-process cache per test, and a count of the folders it decodes."""
    monkeypatch.setattr(image_folder, "_cache", {})
    calls = []
    decode_all = image_folder._decode_all
    monkeypatch.setattr(
        image_folder,
        "_decode_all",
        lambda paths, *a: calls.append(len(paths)) or decode_all(paths, *a),
    )
    return calls


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
    d = data.build(
        f"image_folder:{root}", global_batch_size=4, eval_batch_size=5, validation_fraction=0.25
    )
    info = d.info
    assert (info.num_classes, info.image_shape) == (3, (12, 12, 3))
    assert info.class_names == tuple(sorted(CLASSES))  # label id i is the i-th sorted folder
    assert (info.num_train, info.num_eval, d.steps_per_epoch) == (9, 3, 2)
    assert len(info.mean) == 3 and all(0.4 < m < 0.6 for m in info.mean)
    images, labels = stack(d.test)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2])
    expected = np.stack([_pixels(label, 100 + i % 2, 12) for i, label in enumerate(labels)])
    np.testing.assert_allclose(images, expected / 255.0, atol=1e-6)  # PNG is lossless, no aug
    for batch, batch_labels in take(d.train, 4):
        assert batch.shape == (4, 12, 12, 3) and batch_labels.dtype == np.int32


def test_small_folder_is_deterministic_and_resumable(tmp_path, take):
    root = _write_folder(tmp_path / "small")
    kwargs = dict(global_batch_size=4, seed=1, validation_fraction=0.25)  # 2 steps per epoch
    full = take(data.build(f"image_folder:{root}", **kwargs).train, 5)
    resumed = take(data.build(f"image_folder:{root}", initial_epoch=1, **kwargs).train, 3)
    for (a, la), (b, lb) in zip(full[2:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)


def test_large_folder_uses_imagenet_geometry(tmp_path, take, stack, fresh_cache):
    root = _write_folder(tmp_path / "large", size=80, train_per_class=2, test_per_class=1)
    Image.fromarray(_pixels(0, 7, (96, 120))).save(root / "train" / "ant" / "odd_size.png")
    # Half of each class is held out: train keeps ant/000, ant/odd_size, bee/000 and cat/000.
    d = data.build(f"image_folder:{root}", global_batch_size=4, validation_fraction=0.5)
    assert d.info.image_shape == (80, 80, 3) and d.info.num_train == 4
    assert fresh_cache == []  # ImageNet-like: decoded per file, never cached
    ((batch, _),) = take(d.train, 1)
    assert batch.shape == (4, 80, 80, 3)
    images, _ = stack(d.test)
    # Eval: shorter side -> round(80 / 0.875) = 91, then the central 80 x 80 (not the raw image).
    raw = _pixels(0, 100, 80) / 255.0
    np.testing.assert_allclose(
        images[0], augment.center_crop(raw.astype(np.float32), 80), atol=1e-6
    )
    assert not np.allclose(images[0], raw, atol=1e-3)
    sized = data.build(
        f"image_folder:{root}", global_batch_size=4, image_size=32, validation_fraction=0.5
    )
    assert sized.info.image_shape == (32, 32, 3)
    assert stack(sized.train_eval)[0].shape == (4, 32, 32, 3)


def test_validation_fraction_on_a_folder(tmp_path):
    root = _write_folder(tmp_path / "small")
    info = data.describe(f"image_folder:{root}", validation_fraction=0.25)
    assert (info.num_train, info.num_eval) == (9, 3)  # one of every four images per class


def _reads(source) -> list[np.ndarray]:
    """Every image of both splits through ``Storage.read``, in id order."""
    return [
        split.storage.read(np.int64(i)).numpy()
        for split in (source.train, source.test)
        for i in split.ids
    ]


def _assert_same_as_per_file(name: str, monkeypatch, fresh_cache) -> list[np.ndarray]:
    cached = _reads(image_folder.load(name))
    assert len(fresh_cache) == 1  # the cache was built ...
    with monkeypatch.context() as m:
        m.setattr(image_folder, "CACHE_MAX_BYTES", 0)  # ... and this load decodes per file
        per_file = _reads(image_folder.load(name))
    assert len(fresh_cache) == 1 and len(cached) == len(per_file)
    for a, b in zip(cached, per_file):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    return cached


def test_cache_gives_the_per_file_pixels(tmp_path, monkeypatch, fresh_cache, stack, take):
    root = _write_folder(tmp_path / "mixed")
    for i, c in enumerate(CLASSES):  # lossy JPEG (RGB and grayscale) beside the PNGs
        rgb = Image.fromarray(_pixels(i, 50, 12))
        rgb.save(root / "train" / c / "rgb.jpg", quality=75)
        rgb.convert("L").save(root / "test" / c / "gray.JPEG")
    Image.fromarray(_pixels(0, 60, 12)[..., 0]).save(root / "train" / "ant" / "gray.png")
    name = f"image_folder:{root}"
    images = _assert_same_as_per_file(name, monkeypatch, fresh_cache)
    assert len(images) == 3 * 5 + 1 + 3 * 3 and all(im.shape == (12, 12, 3) for im in images)
    gray = images[4]  # ant's train files sorted: 000-003.png, gray.png, rgb.jpg
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    np.testing.assert_array_equal(gray[..., 0], _pixels(0, 60, 12)[..., 0] * np.float32(1 / 255))

    # The real streams agree too (the cached image has a static shape, the decoded one not).
    kwargs = dict(global_batch_size=4, validation_fraction=0.25, seed=3)
    cached = data.build(name, **kwargs)
    assert len(fresh_cache) == 1  # memoized: this build reused the first load's pixels
    with monkeypatch.context() as m:
        m.setattr(image_folder, "CACHE_MAX_BYTES", 0)
        m.setattr(data.datasets, "EVAL_CACHE_MAX_BYTES", 0)  # so each pass reads the files
        per_file = data.build(name, **kwargs)
    for a, b in zip(stack(cached.test), stack(per_file.test), strict=True):
        np.testing.assert_array_equal(a, b)
    for (a, la), (b, lb) in zip(take(cached.train, 3), take(per_file.train, 3), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    for path in root.rglob("*.*"):
        path.unlink()
    assert stack(cached.test)[0].shape == (9, 12, 12, 3)  # the cache reads no file any more
    with pytest.raises(tf.errors.NotFoundError):
        stack(per_file.test)


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


@pytest.mark.skipif(not CIFAR.is_dir(), reason=f"{CIFAR} (CIFAR-10 as JPEG files) is absent")
def test_cache_gives_the_per_file_pixels_on_real_cifar_jpegs(tmp_path, monkeypatch, fresh_cache):
    # A 200-file slice as symlinks: 16 train + 4 test images of each of the ten classes.
    for split, count in (("train", 16), ("test", 4)):
        for c in sorted(p.name for p in (CIFAR / split).iterdir()):
            (tmp_path / split / c).mkdir(parents=True)
            for f in sorted((CIFAR / split / c).iterdir())[:count]:
                (tmp_path / split / c / f.name).symlink_to(f)
    images = _assert_same_as_per_file(f"image_folder:{tmp_path}", monkeypatch, fresh_cache)
    assert fresh_cache == [200] and images[0].shape == (32, 32, 3)


def test_over_budget_or_mixed_size_folders_decode_per_file(tmp_path, monkeypatch, fresh_cache):
    root = _write_folder(tmp_path / "small")  # 18 images of 12 x 12 x 3 = 432 bytes
    name = f"image_folder:{root}"
    monkeypatch.setattr(image_folder, "CACHE_MAX_BYTES", 18 * 432 - 1)
    over = image_folder.load(name)
    assert fresh_cache == []  # one byte over the budget: not decoded at load
    monkeypatch.setattr(image_folder, "CACHE_MAX_BYTES", 18 * 432)
    exact = image_folder.load(name)
    assert fresh_cache == [18]  # exactly the budget: cached
    image_folder.load(name)
    assert fresh_cache == [18]  # memoized
    (root / "test" / "ant" / "000.png").unlink()
    with pytest.raises(tf.errors.NotFoundError):
        over.test.storage.read(np.int64(0)).numpy()  # per file: reads the file now
    assert exact.test.storage.read(np.int64(0)).shape == (12, 12, 3)

    # One image of another size: the whole folder falls back to per-file decoding (nothing is
    # resized at cache time; the transforms resize it per read, as before).
    Image.fromarray(_pixels(0, 100, 10)).save(root / "test" / "ant" / "000.png")
    mixed = image_folder.load(name)  # the changed file list is a new cache key
    assert fresh_cache == [18, 18] and [*image_folder._cache.values()][-1] is None
    assert mixed.test.storage.read(np.int64(0)).shape == (10, 10, 3)
    assert mixed.test.storage.read(np.int64(1)).shape == (12, 12, 3)


def test_a_changed_file_is_decoded_again(tmp_path, fresh_cache):
    root = _write_folder(tmp_path / "small")
    before = image_folder.load(f"image_folder:{root}").train.storage.read(np.int64(1)).numpy()
    path = root / "train" / "ant" / "001.png"
    Image.fromarray(_pixels(0, 77, 12)).save(path)
    os.utime(path, ns=(0, 0))  # a new mtime even on coarse-clock file systems
    after = image_folder.load(f"image_folder:{root}").train.storage.read(np.int64(1)).numpy()
    assert fresh_cache == [18, 18] and not np.array_equal(before, after)
    np.testing.assert_array_equal(after, _pixels(0, 77, 12) * np.float32(1 / 255))


@pytest.mark.parametrize("junk", [b"junk", b"\xff\xd8\xff\xe0 truncated jpeg"])
def test_an_undecodable_file_while_caching_is_a_config_error(tmp_path, fresh_cache, junk):
    root = _write_folder(tmp_path / "bad")
    bad = root / "test" / "bee" / "001.png"  # not the first file: only the cache decodes it
    bad.write_bytes(junk)
    with pytest.raises(ConfigError) as error:
        data.build(f"image_folder:{root}", global_batch_size=4, validation_fraction=0.25)
    message = str(error.value)
    assert message.startswith(f"image_folder:{root}: cannot decode {bad} (") and "\n" not in message
    assert "replace or remove it" in message and "kd_efficacy.data.check" in message
