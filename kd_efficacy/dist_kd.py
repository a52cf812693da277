"""DIST (Huang et al., NeurIPS 2022, "Knowledge Distillation from A Stronger Teacher").

DIST replaces KL by correlations, to relax exact matching when the teacher is much stronger:

    Y = softmax(Z / τ)  (B x C, rows: examples)
    inter = 1 - mean_i ρ(Y^S_i, Y^T_i)       (each example's class ranking, across classes)
    intra = 1 - mean_c ρ(Y^S_:c, Y^T_:c)     (each class's example ranking, across the batch)
    DIST = τ² · (β · inter + γ · intra)

with ρ the Pearson correlation as the official code computes it (hunto/DIST_KD,
``dist_kd.py``): cosine similarity of the mean-centred vectors, ``a·b / (|a| |b| + 1e-8)``.

Expressed per example, for ``losses.global_mean``: the inter-class part is per example already
(1 - ρ of its row). The intra-class part is a statistic of a batch: each example carries the
batch's value, so the mean over examples is that value and its gradient flows through every
example of the batch. Under ``tf.distribute`` the "batch" is each replica's share of the global
batch: the global-batch mean is then the (example-weighted) mean of the per-replica intra-class
relations, which equals the paper's only on one device. Columns of the correlation are B/N long
instead of B, a difference the paper's multi-GPU training has too (its loss is per GPU).

Norms are taken as sqrt(max(Σ x², 1e-24)): the value differs from |x| by at most 1e-12 (below
the 1e-8 of the denominator), but the gradient stays finite when a column is constant (a
saturated softmax makes whole columns 0), where d|x| at 0 is NaN.
"""

import tensorflow as tf

EPS = 1e-8


def _safe_norm(x):
    return tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(x), -1), 1e-24))


def pearson(a, b):
    """Row-wise Pearson correlation, as the official code (cosine of centred rows, + eps)."""
    a = a - tf.reduce_mean(a, -1, keepdims=True)
    b = b - tf.reduce_mean(b, -1, keepdims=True)
    return tf.reduce_sum(a * b, -1) / (_safe_norm(a) * _safe_norm(b) + EPS)


def dist_term(teacher_probs, student_logits, temperature, beta, gamma):
    """Per-example τ² (β (1 - ρ_row) + γ · intra), intra shared by the (replica) batch."""
    y_student = tf.nn.softmax(tf.cast(student_logits, tf.float32) / temperature)
    y_teacher = tf.cast(teacher_probs, tf.float32)
    inter = 1.0 - pearson(y_student, y_teacher)
    intra = 1.0 - tf.reduce_mean(pearson(tf.transpose(y_student), tf.transpose(y_teacher)))
    return temperature**2 * (beta * inter + gamma * intra)
