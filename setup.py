"""kd_efficacy: reproducible knowledge-distillation studies (Cho & Hariharan, ICCV 2019)."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="kd_efficacy",
    version="0.1.0",
    description="Reproducible studies of 'On the Efficacy of Knowledge Distillation'",
    long_description=Path("README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # gin_configs/ ships inside the package so `include 'gin_configs/...'` works when installed.
    packages=find_packages(include=["kd_efficacy", "kd_efficacy.*"]) + ["kd_efficacy.gin_configs"],
    package_dir={"kd_efficacy.gin_configs": "gin_configs"},
    package_data={"kd_efficacy.gin_configs": ["*.gin", "**/*.gin"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.12",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # TFDS builders import it; missing it breaks custom datasets
        # Pretrained teachers (kd_efficacy/pretrained.py): keras-hub presets and timm checkpoints.
        # Not keras-cv: it is no longer developed (its model cards point to keras-hub), was never
        # imported here, and pulled the old keras-core into the environment; augmentation is
        # stateless tf.image ops (data/augment.py), resumable per example, which KerasCV's and
        # Keras' random layers (one draw per batch, hidden RNG state) are not.
        "keras-hub>=0.32,<0.33",
        "gin-config>=0.5",
        "absl-py",
        "tensorboard",
        "matplotlib",
        "scikit-learn",
        "scipy",  # report statistics: t-based CIs, paired and Welch t-tests (report/statistics.py)
    ],
    extras_require={
        # ray: CI runs a tiny study on a local Ray instance; submitit: the slow local test.
        "test": ["pytest>=8", "ruff>=0.6", "ray>=2.9", "submitit>=1.5"],
        "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
        "ray": ["ray>=2.9"],  # python -m kd_efficacy.launch --launcher=ray
        "slurm": ["submitit>=1.5"],  # python -m kd_efficacy.launch --launcher=slurm
    },
    entry_points={"console_scripts": ["kd-efficacy=kd_efficacy.run:entry_point"]},
)
