"""Distiller: a keras.Model that trains a student against frozen teachers with the KD loss.

    total = CE_WEIGHT · CE(labels, student) + KD_WEIGHT · T² · KL(teacher ‖ student)

The weights and T come as one ``KDSettings`` value (kd_settings.py). Training from scratch is the
same model with no teacher and ``KDSettings.scratch()`` (CE only), the default. ``fit()`` stays
the only training loop: distribution, callbacks and progress bars come from Keras.

Design choices that the tests pin:
- Teachers are called with ``training=False`` on the *same augmented batch* as the student and
  are held outside Keras' tracking, so ``distiller.weights``, checkpoints and exports hold the
  student (and the loss weights) only.
- CE and KD weights are non-trainable variables: a Python float would be frozen into the
  compiled step, a variable lets ``KDSchedule`` switch KD off mid-training (ESKD).
- While the KD weight is 0 (ESKD after its stop epoch) the train step skips the teacher's forward
  pass: a ``tf.cond`` in the one compiled step, so no retrace and every strategy works; the train
  ``kd``/``agreement`` metrics are then not updated (their curves come from the eval passes).
- Per-example losses are reduced over the global batch (``losses.global_mean``).
- ``kd.method`` picks the KD term (kd_methods.py: KD, DKD, DIST), always scaled by the KD
  weight; the ``kd`` metric stays T² KL(teacher ‖ student) whatever the method (the mimicry
  measure every report compares), the method's own term is logged under its name.
- ``kd.mix`` mixes each training batch (mixing.py) before teacher and student see it, keyed by
  (seed, optimizer step) so a resumed run mixes as an uninterrupted one; not while the KD weight
  is 0 (after ESKD's stop: plain CE on plain images). Evaluation never mixes.
- ``eval_chunk`` (set by the trainer where eval_groups.py groups small images' eval batches):
  the test step's forward pass takes a whole group, its metric updates run batch by batch, so
  every metric is the ungrouped pass's, bit for bit.
- Weight decay is an L2 loss whose gradient is wd · w (PyTorch SGD's coupled L2, the KD
  literature's recipe), so it composes with loss scaling under mixed float16.
"""

import keras
import tensorflow as tf

from kd_efficacy import eval_groups, kd_methods, losses, mixing
from kd_efficacy.kd_settings import KDSettings


class _Untracked:
    """Holds teachers out of Keras/TF tracking so they never enter weights or checkpoints."""

    def __init__(self, models):
        self.models = tuple(models)


class Distiller(keras.Model):
    """Student + frozen teachers; ``call`` returns the student's logits."""

    eval_chunk = None  # eval elements are groups of batches of this size (eval_groups.py)

    def __init__(
        self,
        student,
        teachers=(),
        *,
        kd=None,
        weight_decay=0.0,
        num_classes=None,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.student = student
        for teacher in teachers:
            teacher.trainable = False
        self._teachers = _Untracked(teachers)
        kd = KDSettings.scratch() if kd is None else kd
        self.kd_settings = kd
        self.seed = int(seed)  # keys the batch mixing (with the optimizer step)
        self.temperature = float(kd.temperature)
        self.weight_decay = float(weight_decay)
        self.ce_weight = self.add_weight(
            name="ce_weight",
            shape=(),
            initializer=keras.initializers.Constant(kd.ce_weight),
            trainable=False,
        )
        self.kd_weight = self.add_weight(
            name="kd_weight",
            shape=(),
            initializer=keras.initializers.Constant(kd.kd_weight),
            trainable=False,
        )
        num_classes = num_classes or student.output_shape[-1]
        self.num_classes = num_classes
        self._trackers = {
            "loss": keras.metrics.Mean(name="loss"),
            "ce": keras.metrics.Mean(name="ce"),
            "accuracy": keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        }
        if num_classes > 5:
            self._trackers["top5"] = keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")
        if self.teachers:
            self._trackers["kd"] = keras.metrics.Mean(name="kd")
            self._trackers["agreement"] = keras.metrics.Mean(name="agreement")
            if kd.method != "kd":
                self._trackers[kd.method] = keras.metrics.Mean(name=kd.method)

    @property
    def teachers(self):
        return self._teachers.models

    @property
    def metrics(self):
        return list(self._trackers.values())

    def call(self, images, training=False):
        return self.student(images, training=training)

    def _teacher_probs(self, images):
        logits = [teacher(images, training=False) for teacher in self.teachers]
        return tf.stop_gradient(losses.teacher_probabilities(logits, self.temperature))

    def _terms(self, images, labels, student_logits, teacher_probs, teacher_ran=None):
        """Per-example loss terms and metric updates shared by train and test steps.

        ``labels``: class ids, or mixed targets [B, C] on a mixed training batch. ``teacher_ran``
        (a 0/1 scalar, train step only) weights the teacher metrics' update, so a step that
        skipped the teacher leaves them untouched.
        """
        ce = losses.cross_entropy(labels, student_logits)
        labels = losses.class_ids(labels)
        total = self.ce_weight * ce
        if teacher_probs is not None:
            kd = losses.kd_term(teacher_probs, student_logits, self.temperature)
            method = self.kd_settings.method
            if method != "kd":
                term = kd_methods.term(self.kd_settings, teacher_probs, student_logits, labels)
                self._trackers[method].update_state(term, sample_weight=teacher_ran)
            else:
                term = kd
            total += self.kd_weight * term
            self._trackers["kd"].update_state(kd, sample_weight=teacher_ran)
            self._trackers["agreement"].update_state(
                losses.agreement(teacher_probs, student_logits), sample_weight=teacher_ran
            )
        self._trackers["ce"].update_state(ce)
        self._trackers["loss"].update_state(total)
        probs = tf.cast(student_logits, tf.float32)
        self._trackers["accuracy"].update_state(labels, probs)
        if "top5" in self._trackers:
            self._trackers["top5"].update_state(labels, probs)
        return total

    def _teacher_probs_for(self, data):
        """Teacher probabilities: precomputed logits (3rd element) or a teacher forward pass."""
        if len(data) == 3 and data[2] is not None:
            return losses.teacher_probabilities(data[2], self.temperature)
        return self._teacher_probs(data[0]) if self.teachers else None

    def _teacher_logits_for(self, data):
        """Teacher logits (a list for several teachers; None without): cached or computed."""
        if len(data) == 3 and data[2] is not None:
            return data[2]
        if not self.teachers:
            return None
        return [tf.stop_gradient(t(data[0], training=False)) for t in self.teachers]

    def _train_teacher_probs(self, data):
        """(teacher probabilities, 1.0/0.0 whether a teacher pass ran, or None) for a train step.

        Nothing uses the teacher while the KD weight is 0, so a ``tf.cond`` skips its forward pass
        and feeds zeros instead: the KD term of zeros is finite (0), and 0 · KD leaves the loss and
        the gradients exactly as with the teacher's output. Cached logits cost no pass.
        """
        if not self.teachers or (len(data) == 3 and data[2] is not None):
            return self._teacher_probs_for(data), None
        images = data[0]
        used = self.kd_weight > 0
        probs = tf.cond(
            used,
            lambda: self._teacher_probs(images),
            lambda: tf.zeros([tf.shape(images)[0], self.num_classes], tf.float32),
        )
        return probs, tf.cast(used, tf.float32)

    def _mixed(self, data):
        """The training batch as teacher and student see it: mixed (kd.mix) or as given."""
        kd = self.kd_settings
        if kd.mix == "none" or not self.teachers:
            return data
        if len(data) == 3 and data[2] is not None:
            raise ValueError("kd.mix needs a teacher pass on the mixed batch, not cached logits")
        seed = tf.stack(
            [tf.constant(self.seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)]
        )
        images, targets = mixing.mix_batch(
            data[0], data[1], self.num_classes, kd.mix, kd.mix_alpha, seed, self.kd_weight > 0
        )
        return (images, targets)

    def _regularization(self, variables):
        """Weight decay and model-declared losses, divided by the replica count.

        Replica gradients are summed, and these terms are not per example, so each replica
        contributes its share. The L2 term's gradient is weight_decay · w: PyTorch SGD's coupled
        weight decay, which the KD literature's recipes assume.
        """
        terms = list(self.student.losses)
        if self.weight_decay:
            terms.append(self.weight_decay * tf.add_n([tf.nn.l2_loss(v) for v in variables]))
        if not terms:
            return 0.0
        return tf.add_n(terms) / tf.distribute.get_strategy().num_replicas_in_sync

    def train_step(self, data):
        data = self._mixed(data)
        images, labels = data[0], data[1]
        teacher_probs, teacher_ran = self._train_teacher_probs(data)
        variables = self.student.trainable_variables
        with tf.GradientTape() as tape:
            student_logits = self.student(images, training=True)
            per_example = self._terms(images, labels, student_logits, teacher_probs, teacher_ran)
            loss = losses.global_mean(per_example) + self._regularization(variables)
            loss = self.optimizer.scale_loss(loss)
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def test_step(self, data):
        student_logits = self.student(data[0], training=False)
        self._eval_terms(data, [(self, student_logits)])
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _eval_terms(self, data, members):
        """Metric updates of an eval element for each (Distiller, its student's logits) in
        ``members`` (sharing this one's teachers). With ``eval_chunk`` set the element is a group
        of eval batches (eval_groups.py): the updates then run batch by batch, on the slices."""
        images, labels = data[0], data[1]
        if self.eval_chunk is None:
            teacher_probs = self._teacher_probs_for(data)
            for member, logits in members:
                member._terms(images, labels, logits, teacher_probs)
            return
        teacher_logits = self._teacher_logits_for(data)

        def chunk(start, stop):
            probs = None
            if teacher_logits is not None:
                sliced = tf.nest.map_structure(lambda t: t[start:stop], teacher_logits)
                probs = losses.teacher_probabilities(sliced, self.temperature)
            for member, logits in members:
                member._terms(images[start:stop], labels[start:stop], logits[start:stop], probs)

        eval_groups.each_chunk(tf.shape(images)[0], self.eval_chunk, chunk)
