"""Fixed, seed-independent rules that choose which examples go where.

Splits must not move when the training seed changes (otherwise runs with different seeds would be
evaluated on different data), and must not depend on any library's RNG stream. Both rules below are
plain arithmetic over the examples' source order, applied within each class (stratified):

* ``every_kth(labels, fraction)``: within each class, the example at class position ``p`` (0-based,
  source order) is selected iff ``floor((p + 1) * fraction) > floor(p * fraction)``. That picks
  ``floor(n_c * fraction)`` examples per class, spread evenly over the class; for ``fraction=1/4``
  it is "every 4th example" (positions 3, 7, 11, ...).
* ``proportional_prefix(labels, count)``: orders examples by their relative position in their class
  ``(p + 0.5) / n_c`` (ties by class id) and keeps the first ``count``: each class keeps its
  earliest examples, in proportion to its size.
"""

import numpy as np


def _class_positions(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns each example's 0-based position within its class and the size of that class."""
    labels = np.asarray(labels)
    positions = np.zeros(len(labels), np.int64)
    sizes = np.zeros(len(labels), np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        positions[members] = np.arange(len(members))
        sizes[members] = len(members)
    return positions, sizes


def every_kth(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the evenly spread, stratified ``fraction`` of examples (see module doc)."""
    positions, _ = _class_positions(labels)
    # float64 products round identically everywhere (IEEE 754), so the mask is machine-independent.
    return np.floor((positions + 1) * fraction) > np.floor(positions * fraction)


def proportional_prefix(labels: np.ndarray, count: int) -> np.ndarray:
    """Sorted indices of ``count`` examples chosen class-proportionally (see module doc)."""
    labels = np.asarray(labels)
    positions, sizes = _class_positions(labels)
    order = np.lexsort((labels, (2 * positions + 1) / (2 * sizes)))
    return np.sort(order[:count])
