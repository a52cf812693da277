"""The loss terms of knowledge distillation, per example, and their global-batch reduction.

KD term (Hinton et al. 2015, as used by Cho & Hariharan 2019):

    KD = T² · KL(softmax(t/T) ‖ softmax(s/T)), summed over classes,

computed per example so that the reduction over the *global* batch happens once, in
``global_mean``. The T² factor keeps the KD gradient's scale independent of T. An ensemble of
teachers teaches through its averaged probabilities.
"""

import tensorflow as tf


def cross_entropy(labels, logits):
    """Per-example softmax cross-entropy, in float32 whatever the compute precision.

    ``labels``: class ids [B], or targets [B, C] (mixed one-hot labels, mixing.py).
    """
    logits, labels = tf.cast(logits, tf.float32), tf.convert_to_tensor(labels)
    if labels.shape.rank == 2:
        return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits
    )


def class_ids(labels):
    """Class ids [B] from ids or from [B, C] targets (the dominant class of a mixed target)."""
    labels = tf.convert_to_tensor(labels)
    return tf.argmax(labels, -1) if labels.shape.rank == 2 else labels


def teacher_probabilities(teacher_logits, temperature):
    """Softened teacher distribution; a list of logits (an ensemble) averages probabilities."""
    if not isinstance(teacher_logits, (list, tuple)):
        teacher_logits = [teacher_logits]
    probabilities = [tf.nn.softmax(tf.cast(t, tf.float32) / temperature) for t in teacher_logits]
    return tf.add_n(probabilities) / len(probabilities)


def kd_term(teacher_probs, student_logits, temperature):
    """Per-example T² · KL(teacher ‖ student) at temperature T, summed over classes."""
    log_student = tf.nn.log_softmax(tf.cast(student_logits, tf.float32) / temperature)
    # xlogy gives 0·log 0 = 0 for classes the teacher rules out entirely.
    kl = tf.reduce_sum(
        tf.math.xlogy(teacher_probs, teacher_probs) - teacher_probs * log_student, -1
    )
    return temperature**2 * kl


def agreement(teacher_probs, student_logits):
    """Per-example 1.0 where teacher and student predict the same top-1 class."""
    same = tf.equal(tf.argmax(teacher_probs, -1), tf.argmax(student_logits, -1))
    return tf.cast(same, tf.float32)


def global_mean(per_example):
    """Mean over the global batch: each replica divides its sum by the *global* batch size.

    Keras 3 does not rescale a loss computed inside a custom ``train_step``, so the division by
    the global batch (not the replica's) is what makes the summed replica gradients equal the
    single-device gradient under ``tf.distribute``.
    """
    return tf.nn.compute_average_loss(per_example)
