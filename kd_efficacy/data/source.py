"""What every data source hands the builder: its two splits and the facts that pick transforms."""

import dataclasses

from kd_efficacy.data.examples import Split


@dataclasses.dataclass(frozen=True)
class Source:
    """A loaded dataset before hold-out, capping and transforms.

    ``default_size`` is the model input size used when ``image_size`` is not given.
    ``imagenet_like`` marks large or variably sized images: eval then resizes the shorter side and
    center-crops instead of plainly resizing. ``default_style`` is what ``augment='auto'`` means.
    ``mean``/``std`` are published constants, or None to compute them from training images.
    ``class_names``: label id i's name at index i, or None for the ids as text ('0', '1', ...).
    """

    train: Split
    test: Split
    num_classes: int
    channels: int
    default_size: int
    imagenet_like: bool
    default_style: str
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    class_names: tuple[str, ...] | None = None
