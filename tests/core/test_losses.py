"""The KD loss against a float64 NumPy reference and against keras.distillation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import losses


def _reference_kd(teacher_logits, student_logits, temperature):
    """T² · Σ_c p_t (log p_t − log p_s) per example, in float64."""

    def log_softmax(z):
        z = z / temperature
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    log_t = log_softmax(teacher_logits.astype(np.float64))
    log_s = log_softmax(student_logits.astype(np.float64))
    return temperature**2 * (np.exp(log_t) * (log_t - log_s)).sum(-1)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_kd_term_matches_float64_reference(temperature):
    rng = np.random.default_rng(0)
    teacher = rng.normal(scale=5, size=(16, 10)).astype(np.float32)
    student = rng.normal(scale=5, size=(16, 10)).astype(np.float32)
    probs = losses.teacher_probabilities(teacher, temperature)
    got = losses.kd_term(probs, student, temperature).numpy()
    expected = _reference_kd(teacher, student, temperature)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # The batch reduction is a mean over examples of the class-summed term.
    np.testing.assert_allclose(losses.global_mean(got).numpy(), expected.mean(), rtol=1e-5)


def test_kd_term_matches_keras_logits_distillation():
    rng = np.random.default_rng(1)
    teacher = rng.normal(size=(32, 10)).astype(np.float32)
    student = rng.normal(size=(32, 10)).astype(np.float32)
    # The KLDivergence instance selects its probability branch (a string would not).
    reference = keras.distillation.LogitsDistillation(4.0, loss=keras.losses.KLDivergence())
    expected = float(reference.compute_loss(teacher, student))
    ours = losses.kd_term(losses.teacher_probabilities(teacher, 4.0), student, 4.0)
    # Keras clips probabilities at 1e-7 inside KLDivergence, hence the tolerance.
    np.testing.assert_allclose(float(tf.reduce_mean(ours)), expected, rtol=1e-4)


def test_identical_logits_give_zero_kd_and_full_agreement():
    logits = tf.constant([[1.0, 2.0, 3.0], [3.0, -1.0, 0.0]])
    probs = losses.teacher_probabilities(logits, 2.0)
    np.testing.assert_allclose(losses.kd_term(probs, logits, 2.0).numpy(), 0.0, atol=1e-6)
    np.testing.assert_array_equal(losses.agreement(probs, logits).numpy(), [1.0, 1.0])


def test_ensemble_teacher_averages_probabilities():
    a = tf.constant([[4.0, 0.0]])
    b = tf.constant([[0.0, 4.0]])
    probs = losses.teacher_probabilities([a, b], 1.0).numpy()
    np.testing.assert_allclose(probs, [[0.5, 0.5]], atol=1e-6)
