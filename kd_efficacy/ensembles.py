"""Evaluate ensembles of trained runs: averaged probabilities, member accuracy, diversity.

Members are complete run directories; their final ('last') weights are loaded. Diversity is
the mean pairwise disagreement: the fraction of test images on which two members' top-1
predictions differ.
"""

import itertools

import numpy as np
import tensorflow as tf

from kd_efficacy import teachers


def predictions(run_dirs, images):
    """Softmax probabilities of each member on ``images``: array (members, N, classes)."""
    probs = []
    for directory in run_dirs:
        model = teachers.load(directory, "last")
        logits = model.predict(images, batch_size=256, verbose=0)
        probs.append(tf.nn.softmax(logits.astype(np.float32)).numpy())
    return np.stack(probs)


def evaluate(run_dirs, images, labels):
    probs = predictions(run_dirs, images)
    top1 = probs.argmax(-1)
    labels = np.asarray(labels)
    member_accuracy = [(p == labels).mean() for p in top1]
    pairs = list(itertools.combinations(range(len(run_dirs)), 2))
    disagreement = np.mean([(top1[a] != top1[b]).mean() for a, b in pairs]) if pairs else 0.0
    return {
        "size": len(run_dirs),
        "ensemble_accuracy": float((probs.mean(0).argmax(-1) == labels).mean()),
        "mean_member_accuracy": float(np.mean(member_accuracy)),
        "best_member_accuracy": float(np.max(member_accuracy)),
        "disagreement": float(disagreement),
    }


def test_arrays(dataset):
    """Un-augmented test images and labels of a ``data.Data`` as numpy arrays."""
    images, labels = [], []
    for batch in dataset.test:
        images.append(batch[0].numpy())
        labels.append(batch[1].numpy())
    return np.concatenate(images), np.concatenate(labels)
