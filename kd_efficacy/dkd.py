"""Decoupled KD (Zhao et al., CVPR 2022, "Decoupled Knowledge Distillation"), per example.

Classical KD splits into a target-class part and a non-target part (their Eq. 7):

    KD = TCKD + (1 - p_t^T) · NCKD

DKD drops the coupling factor and weighs the two parts freely (their Eq. 8):

    DKD = T² · (α · TCKD + β · NCKD)
    TCKD = KL(b^T ‖ b^S),  b = [p_t, 1 - p_t]            (binary: target vs. all others)
    NCKD = KL(p̂^T ‖ p̂^S),  p̂_i = p_i / (1 - p_t), i ≠ t  (the distribution among non-targets)

with p = softmax(z / T) and t the ground-truth class. The T² factor is the official code's
(mdistiller, ``dkd_loss``); it is applied to both parts there too.

The teacher enters as probabilities (``losses.teacher_probabilities``: an ensemble averages
them), so b^T and p̂^T come from those. The student's log-probabilities are computed from its
logits with log-sum-exps over the right class sets, so they stay finite when a softmax
saturates (1 - p_t = 0 in float32); a teacher with no mass off the target gives p̂^T = 0 and an
NCKD of 0 for that example (its share of the loss is empty), not a NaN.
"""

import tensorflow as tf


def dkd_term(teacher_probs, student_logits, labels, temperature, alpha, beta):
    """Per-example T² (α TCKD + β NCKD) for integer ``labels`` (shape [B])."""
    num_classes = student_logits.shape[-1]
    target = tf.one_hot(tf.cast(labels, tf.int32), num_classes) > 0.5
    z = tf.cast(student_logits, tf.float32) / temperature
    teacher_probs = tf.cast(teacher_probs, tf.float32)

    # Student, stably: log p_t, log(1 - p_t) and log p̂ (over non-targets).
    all_lse = tf.reduce_logsumexp(z, -1)
    others_lse = tf.reduce_logsumexp(tf.where(target, -float("inf"), z), -1)
    z_target = tf.reduce_sum(tf.where(target, z, 0.0), -1)
    log_b_student = tf.stack([z_target - all_lse, others_lse - all_lse], -1)
    log_hat_student = z - others_lse[:, None]  # garbage (finite) at the target, weighted by 0

    # Teacher: b^T from the probabilities themselves (1 - p_t summed, not subtracted).
    p_target = tf.reduce_sum(tf.where(target, teacher_probs, 0.0), -1)
    off_target = tf.where(target, 0.0, teacher_probs)
    p_others = tf.reduce_sum(off_target, -1)
    b_teacher = tf.stack([p_target, p_others], -1)
    hat_teacher = tf.math.divide_no_nan(off_target, p_others[:, None])

    tckd = tf.reduce_sum(tf.math.xlogy(b_teacher, b_teacher) - b_teacher * log_b_student, -1)
    nckd = tf.reduce_sum(
        tf.math.xlogy(hat_teacher, hat_teacher) - hat_teacher * log_hat_student, -1
    )
    return temperature**2 * (alpha * tckd + beta * nckd)
