"""Input pipelines: one builder for TFDS names, ``image_folder:PATH`` and embedded ``digits``."""

from kd_efficacy.data.datasets import Data, DatasetInfo, build, describe

__all__ = ["Data", "DatasetInfo", "build", "describe"]
