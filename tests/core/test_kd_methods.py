"""DKD and DIST against float64 NumPy transcriptions of their papers' formulas (per example and
reduced), finite gradients at extreme logits, and the Distiller's use of them (ESKD switches
each method off)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import callbacks, dist_kd, dkd, kd_methods, losses
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings

C = 10


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _kl(p, q):
    """Σ p log(p / q) with 0 log 0 = 0, in float64."""
    safe = np.where(p > 0, p, 1.0)
    return np.where(p > 0, p * (np.log(safe) - np.log(q)), 0.0).sum(-1)


def _reference_dkd(teacher, student, labels, T, alpha, beta):
    """Zhao et al. 2022, Eq. 8, transcribed: T² (α KL(b^T‖b^S) + β KL(p̂^T‖p̂^S))."""
    pt, ps = _softmax(teacher / T), _softmax(student / T)
    rows = np.arange(len(labels))
    bt = np.stack([pt[rows, labels], 1 - pt[rows, labels]], -1)
    bs = np.stack([ps[rows, labels], 1 - ps[rows, labels]], -1)
    keep = np.ones_like(pt, bool)
    keep[rows, labels] = False
    hat_t = pt[keep].reshape(len(labels), -1)
    hat_s = ps[keep].reshape(len(labels), -1)
    hat_t /= hat_t.sum(-1, keepdims=True)
    hat_s /= hat_s.sum(-1, keepdims=True)
    return T**2 * (alpha * _kl(bt, bs) + beta * _kl(hat_t, hat_s))


def _reference_dist(teacher, student, tau, beta, gamma):
    """Huang et al. 2022, Eq. 5-7 as the official code computes ρ (cosine of centred, + 1e-8)."""

    def rho(a, b):
        a = a - a.mean(-1, keepdims=True)
        b = b - b.mean(-1, keepdims=True)
        norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
        return (a * b).sum(-1) / (norms + 1e-8)

    yt, ys = _softmax(teacher / tau), _softmax(student / tau)
    inter = 1 - rho(ys, yt)  # per example
    intra = 1 - rho(ys.T, yt.T).mean()  # one value for the batch
    return tau**2 * (beta * inter + gamma * intra), tau**2 * (beta * inter.mean() + gamma * intra)


def _logits(seed, n=16, scale=4.0):
    rng = np.random.default_rng(seed)
    teacher = rng.normal(scale=scale, size=(n, C))
    student = rng.normal(scale=scale, size=(n, C))
    labels = rng.integers(0, C, size=n)
    return teacher, student, labels


@pytest.mark.parametrize("T,alpha,beta", [(4.0, 1.0, 8.0), (1.0, 0.5, 2.0), (10.0, 2.0, 0.0)])
def test_dkd_matches_the_paper_formula(T, alpha, beta):
    teacher, student, labels = _logits(0)
    probs = losses.teacher_probabilities(teacher.astype(np.float32), T)
    got = dkd.dkd_term(probs, student.astype(np.float32), labels, T, alpha, beta)
    want = _reference_dkd(teacher, student, labels, T, alpha, beta)
    # float32 against float64: absolute error grows with the T² scale.
    np.testing.assert_allclose(got.numpy(), want, rtol=2e-4, atol=1e-6 * T**2)
    reduced = losses.global_mean(got).numpy()
    np.testing.assert_allclose(reduced, want.mean(), rtol=2e-4)


def test_dkd_with_equal_weights_is_kd_plus_the_coupling():
    """The decomposition (their Eq. 7): KD = TCKD + (1 - p_t^T) NCKD, so DKD(1, 1) >= KD here."""
    teacher, student, labels = _logits(1)
    probs = losses.teacher_probabilities(teacher.astype(np.float32), 4.0)
    kd = losses.kd_term(probs, student.astype(np.float32), 4.0).numpy()
    tckd = dkd.dkd_term(probs, student.astype(np.float32), labels, 4.0, 1.0, 0.0).numpy()
    nckd = dkd.dkd_term(probs, student.astype(np.float32), labels, 4.0, 0.0, 1.0).numpy()
    p_target = probs.numpy()[np.arange(len(labels)), labels]
    np.testing.assert_allclose(kd, tckd + (1 - p_target) * nckd, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("tau,beta,gamma", [(1.0, 1.0, 1.0), (4.0, 2.0, 2.0), (2.0, 1.0, 0.0)])
def test_dist_matches_the_paper_formula(tau, beta, gamma):
    teacher, student, _ = _logits(2, n=32)
    probs = losses.teacher_probabilities(teacher.astype(np.float32), tau)
    got = dist_kd.dist_term(probs, student.astype(np.float32), tau, beta, gamma)
    per_example, reduced = _reference_dist(teacher, student, tau, beta, gamma)
    np.testing.assert_allclose(got.numpy(), per_example, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(losses.global_mean(got).numpy(), reduced, rtol=1e-4, atol=1e-6)


def test_dist_is_zero_for_a_student_equal_to_its_teacher():
    teacher, _, _ = _logits(3)
    probs = losses.teacher_probabilities(teacher.astype(np.float32), 1.0)
    got = dist_kd.dist_term(probs, teacher.astype(np.float32), 1.0, 1.0, 1.0).numpy()
    np.testing.assert_allclose(got, 0.0, atol=1e-5)


@pytest.mark.parametrize("method", ["kd", "dkd", "dist"])
@pytest.mark.parametrize("scale", [1e3, 1e4])
def test_gradients_are_finite_at_extreme_logits(method, scale):
    """Saturated softmaxes (one-hot in float32, constant class columns) must not give NaN."""
    teacher, student, labels = _logits(4, scale=scale)
    student[:, 0] = scale  # the student is sure of class 0 everywhere: column 0 all ones
    teacher[:, 1] = -scale  # a class the teacher rules out entirely
    labels[:4] = 0
    kd = KDSettings(temperature=1.0, method=method)
    probs = losses.teacher_probabilities(tf.constant(teacher, tf.float32), kd.temperature)
    logits = tf.Variable(student.astype(np.float32))
    with tf.GradientTape() as tape:
        loss = losses.global_mean(kd_methods.term(kd, probs, logits, tf.constant(labels)))
    grad = tape.gradient(loss, logits)
    assert np.isfinite(loss.numpy())
    assert np.all(np.isfinite(grad.numpy()))


def _net(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, padding="same")(inputs))
    return keras.Model(inputs, keras.layers.Dense(C)(x))


def _data():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, C, size=32).astype(np.int32)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(16), images, labels


@pytest.mark.parametrize(
    "kd",
    [
        KDSettings(4.0, 1.0, 1.0, method="dkd"),
        KDSettings(1.0, 1.0, 1.0, method="dist"),
        KDSettings(1.0, 0.0, 1.0, mix="mixup"),
    ],
    ids=["dkd", "dist", "function_matching"],
)
def test_eskd_switches_each_method_off(kd):
    """Before the stop the loss is CE_w·CE + KD_w·term; after it, exactly CE (KDSchedule)."""
    dataset, images, labels = _data()
    distiller = Distiller(_net(2), [_net(1)], kd=kd)
    distiller.compile(optimizer=keras.optimizers.SGD(0.0))  # frozen: epoch 0 is checkable
    logs = distiller.fit(dataset, epochs=2, verbose=0, callbacks=[callbacks.KDSchedule(1)])
    history = logs.history
    term = history.get(kd.method, history["kd"])
    np.testing.assert_allclose(
        history["loss"][0], kd.ce_weight * history["ce"][0] + kd.kd_weight * term[0], rtol=1e-4
    )
    np.testing.assert_allclose(history["loss"][1], history["ce"][1], rtol=1e-5)
    # After the stop nothing is mixed: CE on the plain batch, as a scratch student's.
    plain_ce = losses.cross_entropy(labels, distiller.student(images)).numpy().mean()
    np.testing.assert_allclose(history["ce"][1], plain_ce, rtol=1e-5)


def test_method_term_is_logged_and_kd_stays_the_mimicry_measure():
    dataset, images, labels = _data()
    teacher, student = _net(1), _net(2)
    distiller = Distiller(student, [teacher], kd=KDSettings(4.0, 1.0, 1.0, method="dkd"))
    distiller.compile(optimizer=keras.optimizers.SGD(0.0))
    logs = distiller.evaluate(dataset, verbose=0, return_dict=True)
    probs = losses.teacher_probabilities(teacher(images), 4.0)
    kd = losses.kd_term(probs, student(images), 4.0).numpy().mean()
    term = dkd.dkd_term(probs, student(images), labels, 4.0, 1.0, 8.0).numpy().mean()
    np.testing.assert_allclose(logs["kd"], kd, rtol=1e-5)
    np.testing.assert_allclose(logs["dkd"], term, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], logs["ce"] + term, rtol=1e-5)


def test_dist_under_two_replicas_is_the_mean_of_per_replica_batches(mirrored_cpus):
    """The documented choice: each replica's intra-class relation is over its own half-batch,
    and the global-batch mean averages the replicas (the paper's one-device value differs)."""
    teacher, student, _ = _logits(5, n=32)
    probs = losses.teacher_probabilities(teacher.astype(np.float32), 1.0).numpy()
    dataset = tf.data.Dataset.from_tensor_slices((probs, student.astype(np.float32))).batch(32)
    batch = next(iter(mirrored_cpus.experimental_distribute_dataset(dataset)))

    def replica_loss(p, s):
        return losses.global_mean(dist_kd.dist_term(p, s, 1.0, 1.0, 1.0))

    per_replica = mirrored_cpus.run(replica_loss, args=batch)
    got = float(mirrored_cpus.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
    halves = [
        _reference_dist(teacher[i : i + 16], student[i : i + 16], 1.0, 1.0, 1.0)[1] for i in (0, 16)
    ]
    whole = _reference_dist(teacher, student, 1.0, 1.0, 1.0)[1]
    np.testing.assert_allclose(got, np.mean(halves), rtol=1e-4)
    assert abs(np.mean(halves) - whole) > 1e-4  # the difference the docstring names is real
