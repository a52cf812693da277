"""Ensemble scores against a plain NumPy transcription of their definitions.

Accuracy of the averaged probabilities, each member's accuracy, the best member chosen on
validation (reported by its test accuracy) and the mean pairwise top-1 disagreement.
"""

import itertools

import numpy as np
import pytest

from kd_efficacy import ensembles


def _random_probs(rng, members, n, classes):
    logits = rng.normal(size=(members, n, classes))
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _reference(probs, labels, val_probs, val_labels):
    members, n, _ = probs.shape
    averaged = probs.mean(axis=0)
    ensemble = sum(int(np.argmax(averaged[i]) == labels[i]) for i in range(n)) / n
    member_acc = [
        sum(int(np.argmax(probs[m, i]) == labels[i]) for i in range(n)) / n for m in range(members)
    ]
    val_acc = [
        np.mean([np.argmax(val_probs[m, i]) == val_labels[i] for i in range(len(val_labels))])
        for m in range(members)
    ]
    best = max(range(members), key=lambda m: (val_acc[m], -m))  # first of the ties
    pairs = list(itertools.combinations(range(members), 2))
    disagreement = (
        np.mean(
            [
                np.mean([np.argmax(probs[a, i]) != np.argmax(probs[b, i]) for i in range(n)])
                for a, b in pairs
            ]
        )
        if pairs
        else 0.0
    )
    return ensemble, float(np.mean(member_acc)), member_acc[best], float(disagreement)


@pytest.mark.parametrize("members", [1, 2, 3, 5])
def test_scores_match_numpy(members):
    rng = np.random.default_rng(members)
    probs = _random_probs(rng, members, 200, 10)
    val_probs = _random_probs(rng, members, 80, 10)
    labels, val_labels = rng.integers(0, 10, 200), rng.integers(0, 10, 80)
    got = ensembles.scores(probs, labels, val_probs, val_labels)
    ensemble, mean_member, best_member, disagreement = _reference(
        probs, labels, val_probs, val_labels
    )
    assert got["size"] == members
    assert got["ensemble_accuracy"] == pytest.approx(ensemble)
    assert got["mean_member_accuracy"] == pytest.approx(mean_member)
    assert got["best_member_accuracy"] == pytest.approx(best_member)
    assert got["disagreement"] == pytest.approx(disagreement)


def test_best_member_is_chosen_on_validation_not_test():
    """Member 0 is perfect on test, member 1 on validation: the best member is member 1."""
    labels = np.array([0, 1, 0, 1])
    right = np.eye(2)[labels]
    wrong = np.eye(2)[1 - labels]
    probs = np.stack([right, wrong])
    val_probs = np.stack([wrong, right])
    got = ensembles.scores(probs, labels, val_probs, labels)
    assert got["best_member_accuracy"] == 0.0
    assert got["disagreement"] == 1.0
