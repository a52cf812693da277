"""MultiStudentDistiller: k students that share a teacher, trained together by one ``fit``.

Repeats of a student with different seeds, or the members of an ensemble, all learn from the same
frozen teacher on the same batches. Training them in one step pays the teacher's forward pass (and
the input pipeline) once per batch instead of k times, which ``python -m kd_efficacy.benchmark
--students k`` measures against separate runs.

One step is k independent Distiller steps:
- the optimized loss is the sum of the students' losses; no parameter is shared, so the gradient
  of each student's parameters is exactly the gradient of its own loss;
- one optimizer updates every student: SGD (with momentum) keeps per-variable state and the
  learning-rate schedule follows the shared step counter, so each student's update is the one a
  single-student Distiller with the same init would make (``tests/benchmark`` pins this);
- CE/KD weights are the shared variables of ``Distiller``, so ``KDSchedule`` switches all at once.
Caveat: under a loss-scaling optimizer (float16) an overflow in any student skips the step for all.

Metrics are per student, prefixed ``s<i>_`` (``s0_accuracy``, ``s1_kd``, ...); ``loss`` is the
students' mean total loss, so ``StopOnNonFinite`` still trips when any student diverges.
"""

import keras
import tensorflow as tf

from kd_efficacy import losses
from kd_efficacy.distiller import Distiller


class MultiStudentDistiller(Distiller):
    """Students + frozen teachers; ``call`` returns the list of the students' logits."""

    def __init__(self, students, teachers=(), *, num_classes=None, **kwargs):
        students = list(students)
        if not students:
            raise ValueError("MultiStudentDistiller needs at least one student")
        num_classes = num_classes or students[0].output_shape[-1]
        super().__init__(students[0], teachers, num_classes=num_classes, **kwargs)
        if self.kd_settings.method != "kd" or self.kd_settings.mix != "none":
            raise ValueError(
                "MultiStudentDistiller trains vanilla KD only (kd.method='kd', no mix)"
            )
        # ``self.student`` (from Distiller) is students[0]; Keras tracks each model once.
        self.students = students
        trackers = {"loss": keras.metrics.Mean(name="loss")}
        for i in range(len(students)):
            names = ["loss", "ce"] + (["kd", "agreement"] if self.teachers else [])
            for name in names:
                trackers[f"s{i}_{name}"] = keras.metrics.Mean(name=f"s{i}_{name}")
            trackers[f"s{i}_accuracy"] = keras.metrics.SparseCategoricalAccuracy(
                name=f"s{i}_accuracy"
            )
            if num_classes > 5:
                trackers[f"s{i}_top5"] = keras.metrics.SparseTopKCategoricalAccuracy(
                    5, name=f"s{i}_top5"
                )
        self._trackers = trackers

    def call(self, images, training=False):
        return [student(images, training=training) for student in self.students]

    def _student_terms(self, i, labels, student_logits, teacher_probs):
        """Per-example total loss of student ``i``; updates its metrics (as Distiller._terms)."""
        metric = lambda name: self._trackers[f"s{i}_{name}"]
        ce = losses.cross_entropy(labels, student_logits)
        total = self.ce_weight * ce
        if teacher_probs is not None:
            kd = losses.kd_term(teacher_probs, student_logits, self.temperature)
            total += self.kd_weight * kd
            metric("kd").update_state(kd)
            metric("agreement").update_state(losses.agreement(teacher_probs, student_logits))
        metric("ce").update_state(ce)
        metric("loss").update_state(total)
        probs = tf.cast(student_logits, tf.float32)
        metric("accuracy").update_state(labels, probs)
        if f"s{i}_top5" in self._trackers:
            metric("top5").update_state(labels, probs)
        return total

    def _student_regularization(self, student):
        """Distiller._regularization for one student: its model losses and L2 weight decay."""
        terms = list(student.losses)
        if self.weight_decay:
            l2 = [tf.nn.l2_loss(v) for v in student.trainable_variables]
            terms.append(self.weight_decay * tf.add_n(l2))
        if not terms:
            return 0.0
        return tf.add_n(terms) / tf.distribute.get_strategy().num_replicas_in_sync

    def _all_students(self, images, labels, teacher_probs, training):
        """Sum over students of their reduced losses; metrics updated per student."""
        total, per_example_totals = 0.0, []
        for i, student in enumerate(self.students):
            logits = student(images, training=training)
            per_example = self._student_terms(i, labels, logits, teacher_probs)
            per_example_totals.append(per_example)
            total += losses.global_mean(per_example)
            if training:
                total += self._student_regularization(student)
        self._trackers["loss"].update_state(tf.add_n(per_example_totals) / len(self.students))
        return total

    def train_step(self, data):
        images, labels = data[0], data[1]
        # The point of this class: one teacher pass (or precomputed logits) for all students.
        teacher_probs = self._teacher_probs_for(data)
        variables = [v for student in self.students for v in student.trainable_variables]
        with tf.GradientTape() as tape:
            loss = self._all_students(images, labels, teacher_probs, training=True)
            loss = self.optimizer.scale_loss(loss)
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def test_step(self, data):
        images, labels = data[0], data[1]
        self._all_students(images, labels, self._teacher_probs_for(data), training=False)
        return {name: tracker.result() for name, tracker in self._trackers.items()}
