"""Evaluate ensembles of trained runs: averaged probabilities, member accuracy, diversity.

Members are complete run directories; their final ('last') weights are loaded. Diversity is
the mean pairwise disagreement: the fraction of test images on which two members' top-1
predictions differ. The "best member" is chosen on the validation split and reported by its test
accuracy: picking it by test accuracy would flatter it against the ensemble.
"""

import itertools

import numpy as np
import tensorflow as tf

from kd_efficacy import teachers


def predictions(run_dirs, *image_sets):
    """Softmax probabilities of each member on each of ``image_sets`` (each member loaded once):
    one array (members, N, classes) per image set."""
    probs = [[] for _ in image_sets]
    for directory in run_dirs:
        model = teachers.load(directory, "last")
        for found, images in zip(probs, image_sets):
            logits = model.predict(images, batch_size=256, verbose=0)
            found.append(tf.nn.softmax(logits.astype(np.float32)).numpy())
    return [np.stack(found) for found in probs]


def evaluate(run_dirs, images, labels, val_images, val_labels):
    """Test-split scores of ``run_dirs`` as an ensemble; the best member is chosen on validation."""
    probs, val_probs = predictions(run_dirs, images, val_images)
    return scores(probs, labels, val_probs, val_labels)


def scores(probs, labels, val_probs, val_labels):
    """Ensemble scores from member probabilities (members, N, classes) on test and validation."""
    top1 = probs.argmax(-1)
    labels = np.asarray(labels)
    member_accuracy = [(p == labels).mean() for p in top1]
    val_top1 = val_probs.argmax(-1)
    best = int(np.argmax([(p == np.asarray(val_labels)).mean() for p in val_top1]))
    pairs = list(itertools.combinations(range(len(probs)), 2))
    disagreement = np.mean([(top1[a] != top1[b]).mean() for a, b in pairs]) if pairs else 0.0
    return {
        "size": len(probs),
        "ensemble_accuracy": float((probs.mean(0).argmax(-1) == labels).mean()),
        "mean_member_accuracy": float(np.mean(member_accuracy)),
        "best_member_accuracy": float(member_accuracy[best]),  # best on validation
        "disagreement": float(disagreement),
    }


def arrays(stream):
    """Un-augmented images and labels of an eval stream (``data.Data.test``/``.eval``) as numpy."""
    images, labels = [], []
    for batch in stream:
        images.append(batch[0].numpy())
        labels.append(batch[1].numpy())
    return np.concatenate(images), np.concatenate(labels)
