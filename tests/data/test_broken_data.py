"""Broken image folders through the real CLI: one line naming the file, the right exit code.

A corrupt file exits 2 (``DataError``), a file the OS refuses to read exits 74 (``DataReadError``),
both without a traceback, pointing to ``kd_efficacy.data.check``; a fresh --model_dir stays absent,
an existing run keeps its checkpoint and resumes once the file is fixed. Mixed image modes and
sizes are not errors: they decode as RGB and are resized by the transforms.

The three first runs are launched together (each subprocess pays ~4 s of CPU for TF's import).
"""

import concurrent.futures
import hashlib
import os

import numpy as np
import pytest
from kd_testing import TEACHER_GIN, assert_cli_ok, assert_run_contract, last_line, run_cli
from PIL import Image

from kd_efficacy import checkpoint, data
from kd_efficacy.data import image_folder

CHECK = "kd_efficacy.data.check"
# Every mode a photo folder mixes (written in turn), saved as PNG or JPEG.
MODES = (("RGB", "png"), ("L", "png"), ("RGBA", "png"), ("P", "png"), ("RGB", "jpg"), ("L", "jpg"))
PROC_MEM = "/proc/self/mem"  # reading it from offset 0 fails with EIO: a real OS read error


def write_folder(root, sizes=(8,), per_class=(6, 2), ragged=False):
    """Two classes; image ``i`` cycles through ``MODES`` and ``sizes`` (square, or with
    ``ragged`` one pixel wider for odd ``i``)."""
    rng = np.random.default_rng(0)
    for split, count in zip(("train", "test"), per_class):
        for c in ("a", "b"):
            os.makedirs(os.path.join(root, split, c))
            for i in range(count):
                size = sizes[i % len(sizes)]
                mode, ext = MODES[i % len(MODES)]
                pixels = rng.integers(0, 256, (size, size + ragged * (i % 2), 3), dtype=np.uint8)
                image = Image.fromarray(pixels).convert(mode)
                image.save(os.path.join(root, split, c, f"{i:03d}.{ext}"))
    return str(root)


def cli(folder, model_dir, *extra):
    bindings = [
        f"DATASET = 'image_folder:{folder}'",
        "MODEL = 'resnet8'",
        "EPOCHS = 1",
        "recipe.warmup_epochs = 0",
        "GLOBAL_BATCH_SIZE = 4",
        "recipe.image_size = 16",
        *extra,
    ]
    return run_cli(TEACHER_GIN, bindings, model_dir, env={"CUDA_VISIBLE_DEVICES": ""})


def one_line(done, code, *fragments):
    stderr = done.stderr.strip()
    assert done.returncode == code, f"exit {done.returncode}; stderr tail:\n{stderr[-3000:]}"
    assert "Traceback" not in done.stderr, stderr[-3000:]
    last = last_line(stderr)
    assert last.startswith("error: "), last
    for fragment in (*fragments, CHECK):
        assert fragment in last, last


def _eio_file(path):
    """A file whose read fails at the OS: unreadable by mode, or (as root) an EIO device file."""
    if os.geteuid() != 0:
        with open(path, "wb") as f:
            f.write(b"\x89PNG")
        os.chmod(path, 0)
        return
    try:
        with open(PROC_MEM, "rb") as f:
            f.read()
    except OSError:
        os.symlink(PROC_MEM, path)  # root reads any mode; this read fails with EIO instead
        return
    pytest.skip(f"running as root and {PROC_MEM} reads without an error: no OS read error here")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("broken")
    corrupt = write_folder(base / "corrupt")
    os.remove(os.path.join(corrupt, "train", "b", "003.png"))
    with open(os.path.join(corrupt, "train", "b", "003.png"), "wb") as f:
        f.write(b"junk")  # in the middle: not the first file, which sets the geometry
    refused = write_folder(base / "refused")
    os.remove(os.path.join(refused, "train", "a", "002.png"))
    _eio_file(os.path.join(refused, "train", "a", "002.png"))
    # Large (ImageNet-like) mixed sizes and modes: streamed per file, so a bad test image is met
    # only by the final evaluate, after the epoch's checkpoint.
    late = write_folder(base / "late", sizes=(72, 80, 96), ragged=True)
    bad = os.path.join(late, "test", "a", "001.png")
    os.rename(bad, bad + ".good")
    with open(bad, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n truncated")
    jobs = {
        "corrupt": (corrupt, base / "run_corrupt"),
        "refused": (refused, base / "run_refused"),
        "late": (late, base / "run_late"),
    }
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = {k: pool.submit(cli, *args) for k, args in jobs.items()}
        done = {k: f.result() for k, f in futures.items()}
    return {"jobs": jobs, "done": done, "late_bad": bad}


def test_corrupt_file_in_the_middle_is_one_line_naming_it(runs):
    folder, model_dir = runs["jobs"]["corrupt"]
    bad = os.path.join(folder, "train", "b", "003.png")
    one_line(runs["done"]["corrupt"], 2, f"cannot decode {bad}", "replace or remove it")
    assert not model_dir.exists()  # refused before anything was written


def test_file_the_os_refuses_exits_74(runs):
    folder, model_dir = runs["jobs"]["refused"]
    bad = os.path.join(folder, "train", "a", "002.png")
    one_line(runs["done"]["refused"], 74, f"could not read {bad}", "fix its permissions")
    assert not model_dir.exists()


def _digest(arrays):
    return hashlib.sha256(b"".join(k.encode() + v.tobytes() for k, v in arrays.items())).hexdigest()


def test_broken_data_mid_run_keeps_the_checkpoint_and_resumes(runs):
    folder, model_dir = runs["jobs"]["late"]
    one_line(runs["done"]["late"], 2, f"cannot decode {runs['late_bad']}")
    state = model_dir / "checkpoints"
    assert checkpoint.finished_epochs(state) == 1
    digest = _digest(checkpoint.arrays(state))
    assert not (model_dir / "result.json").exists()
    os.replace(runs["late_bad"] + ".good", runs["late_bad"])  # the user's fix
    assert_cli_ok(cli(folder, model_dir))
    assert _digest(checkpoint.arrays(state)) == digest  # resumed, not retrained
    result = assert_run_contract(model_dir)  # complete, metrics of epoch 1 only, ...
    assert result["splits"]["test"] == 4


@pytest.mark.parametrize("ragged", [False, True], ids=["cached", "per_file"])
def test_mixed_modes_and_sizes_decode_as_rgb(tmp_path, monkeypatch, stack, ragged):
    monkeypatch.setattr(image_folder, "_cache", {})
    folder = write_folder(tmp_path / "modes", per_class=(6, 6), ragged=ragged)
    name = f"image_folder:{folder}"
    source = image_folder.load(name)
    cached = [*image_folder._cache.values()][0]
    assert (cached is None) == ragged  # one image of another size: decoded per file
    assert source.test.storage.read(np.int64(1)).shape == (8, 8 + ragged, 3)
    images, labels = stack(data.build(name, global_batch_size=4, validation_fraction=0.25).test)
    assert images.shape == (12, 8, 8, 3) and labels.tolist() == [0] * 6 + [1] * 6
    # Grayscale (image 1, an 'L' PNG) is repeated over the three channels.
    np.testing.assert_array_equal(images[1, ..., 0], images[1, ..., 2])
