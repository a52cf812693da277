"""``python -m kd_efficacy.data.check``: every unreadable file or shard, one line each; and a
truncated TFDS shard named in one line by the build (in-memory and streamed paths)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from kd_testing import REPO_ROOT, cli_env, last_line
from PIL import Image

from kd_efficacy import data
from kd_efficacy.data import check, tfds_source
from kd_efficacy.errors import DataError

NAME = "kd_efficacy_test_shards"


class KdEfficacyTestShards(tfds.core.GeneratorBasedBuilder):
    """Two classes of 8 x 8 noise: 12 train and 4 test examples, one shard per split."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 3)),
                    "label": tfds.features.ClassLabel(num_classes=2),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(12), "test": self._generate_examples(4)}

    def _generate_examples(self, count):
        rng = np.random.default_rng(count)
        for i in range(count):
            yield i, {"image": rng.integers(0, 256, (8, 8, 3), np.uint8), "label": i % 2}


def _check_cli(*args):
    env = cli_env(CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, "-m", "kd_efficacy.data.check", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _folder(root):
    for split in ("train", "test"):
        for c in ("a", "b"):
            os.makedirs(root / split / c)
            for i in range(4):
                pixels = np.full((8, 8, 3), 10 * i, np.uint8)
                Image.fromarray(pixels).save(root / split / c / f"{i}.png")
    return root


def test_check_lists_every_unreadable_file(tmp_path):
    root = _folder(tmp_path / "f")
    bad = {
        root / "train" / "a" / "1.png": b"junk",
        root / "train" / "b" / "3.png": (root / "train" / "b" / "0.png").read_bytes()[:40],
        root / "test" / "b" / "2.png": b"",
    }
    for path, content in bad.items():
        path.write_bytes(content)
    done = _check_cli(f"image_folder:{root}")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    listed = done.stdout.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in listed] == [str(p) for p in bad]
    assert "3 unreadable file(s)" in last_line(done.stderr)


def test_check_of_a_clean_dataset_passes(tmp_path, capsys):
    assert check.check(f"image_folder:{_folder(tmp_path / 'f')}") == 0
    assert check.check("digits") == 0
    assert "every file reads" in capsys.readouterr().out


@pytest.fixture
def truncated(tmp_path):
    """The prepared dataset with its train shard cut inside its 7th record (TFRecordDataset reads
    6 records and stops, no error); yields (data_dir, shard path)."""
    data_dir = str(tmp_path / "tfds")
    builder = tfds.builder(NAME, data_dir=data_dir)
    builder.download_and_prepare()
    shards = builder.info.splits["train"].file_instructions
    assert len(shards) == 1
    shard = str(shards[0].filename)
    with open(shard, "rb") as f:
        content = f.read()
    with open(shard, "wb") as f:
        f.write(content[: len(content) // 2 + 7])
    tfds_source.load.cache_clear()
    yield data_dir, shard
    tfds_source.load.cache_clear()


@pytest.mark.parametrize("streamed", [False, True], ids=["in_memory", "streamed"])
def test_truncated_shard_is_one_line_naming_it(truncated, monkeypatch, streamed):
    data_dir, shard = truncated
    if streamed:
        monkeypatch.setattr(tfds_source, "IN_MEMORY_LIMIT_BYTES", 0)
    with pytest.raises(DataError) as error:
        data.build(NAME, data_dir=data_dir, global_batch_size=2)
    message = str(error.value)
    assert f"cannot decode {shard} (truncated: 6 of its 12 records)" in message
    assert "\n" not in message
    assert f"kd_efficacy.data.check '{NAME}' --data_dir={data_dir}" in message


def test_check_names_the_truncated_shard(truncated, capsys):
    data_dir, shard = truncated
    assert check.check(NAME, data_dir) == 2
    assert capsys.readouterr().out.splitlines() == [f"{shard}: truncated: 6 of its 12 records"]
