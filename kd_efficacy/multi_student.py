"""MultiStudentDistiller: k Distillers sharing a teacher and a data stream, trained by one ``fit``.

Students that see the same batches (same seed and recipe) and learn from the same teacher pay
the teacher's forward pass, and the input pipeline, once per batch instead of k times. Each
student stays a whole ``Distiller`` of its own (a *member*): its own optimizer, CE/KD weight
variables, metrics, checkpoint, snapshots and export, so a member is saved, restored, evaluated
and exported exactly as a separate run's Distiller is (studies/packing.py trains packed runs).

One step is k independent Distiller steps, in the same ops as ``Distiller.train_step``: one
teacher pass, then per member its forward pass, ``_terms``, regularization, gradient (its own
tape) and its own optimizer's update. Nothing is summed across members, so on CPU each member's
weights are bit-identical to a separate run's (tests/studies/test_packing.py).

Metrics are per member, prefixed ``s<i>_`` (``s0_accuracy``, ``val_s1_kd``); ``member_callbacks``
hands each member's callbacks their member's model and logs under the unprefixed names a separate
run's callbacks see. ``python -m kd_efficacy.benchmark --students k`` measures the speedup.
"""

import keras
import tensorflow as tf

from kd_efficacy import callbacks, losses


def prefix(i):
    return f"s{i}_"


class MultiStudentDistiller(keras.Model):
    """Members (compiled Distillers with the same teachers and temperature), trained together.

    Compile it with ``compile_pack``; ``call`` returns the list of the members' logits.
    """

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        members = list(members)
        if not members:
            raise ValueError("MultiStudentDistiller needs at least one member")
        first = members[0]
        for member in members[1:]:
            if [id(t) for t in member.teachers] != [id(t) for t in first.teachers]:
                raise ValueError("packed members must share their teacher models")
            if member.temperature != first.temperature:
                raise ValueError("packed members must share the KD temperature")
            if (member.kd_settings.method, member.kd_settings.mix) != ("kd", "none"):
                raise ValueError("packed members train vanilla KD only (kd.method='kd', no mix)")
        self.members = members

    @property
    def teachers(self):
        return self.members[0].teachers

    @property
    def metrics(self):
        return [tracker for member in self.members for tracker in member.metrics]

    def call(self, images, training=False):
        return [member.student(images, training=training) for member in self.members]

    def _logs(self):
        return {
            prefix(i) + name: tracker.result()
            for i, member in enumerate(self.members)
            for name, tracker in member._trackers.items()
        }

    def train_step(self, data):
        images, labels = data[0], data[1]
        # The point of this class: one teacher pass (or precomputed logits) for all members.
        teacher_probs = self.members[0]._teacher_probs_for(data)
        for member in self.members:  # Distiller.train_step, member by member
            variables = member.student.trainable_variables
            with tf.GradientTape() as tape:
                student_logits = member.student(images, training=True)
                per_example = member._terms(images, labels, student_logits, teacher_probs)
                loss = losses.global_mean(per_example) + member._regularization(variables)
                loss = member.optimizer.scale_loss(loss)
            grads = tape.gradient(loss, variables)
            member.optimizer.apply_gradients(zip(grads, variables))
        return self._logs()

    def test_step(self, data):
        # Distiller.test_step, member by member, the teacher's logits shared.
        logits = [(m, m.student(data[0], training=False)) for m in self.members]
        self.members[0]._eval_terms(data, logits)
        return self._logs()


class SharedEvaluation:
    """A pack's evaluation passes, each once for all members: member i's metrics over a stream
    come from one ``evaluate`` of the pack (its compiled test step, which fit's validation
    traced already), not from member i's own pass. Each member's metrics are its own Distiller's
    ops on its own weights, so they equal a separate pass's bit for bit; a pass is reused only
    while no member's weights, step or loss weights have changed."""

    def __init__(self, multi):
        self.multi = multi
        self._key, self._results = None, None

    def _state(self):
        return tuple(
            (
                int(m.optimizer.iterations.numpy()),
                float(m.kd_weight.numpy()),
                float(m.ce_weight.numpy()),
            )
            for m in self.multi.members
        )

    def member_metrics(self, index, stream):
        """Member ``index``'s metrics over ``stream``, as ``member.evaluate(stream)`` gives them."""
        key = (id(stream), self._state())
        if key != self._key:
            self._results = self.multi.evaluate(stream, verbose=0, return_dict=True)
            self._key = key
        member, mine = self.multi.members[index], prefix(index)
        return {name: self._results[mine + name] for name in member._trackers}


def compile_pack(multi, jit_compile=False, steps_per_execution=1):
    """Compiles the pack over its (already compiled, optimizer-built) members. Keras wants an
    optimizer; member 0's is passed, built already, so no slot is made twice and none unused."""
    multi.compile(
        optimizer=multi.members[0].optimizer,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return multi


class MemberDiverged(Exception):
    """A member's ``StopOnNonFinite`` stopped the pack; ``index`` says which, ``error`` why."""

    def __init__(self, index, error):
        super().__init__(f"member {index}: {error}")
        self.index, self.error = index, error


class _Member(keras.callbacks.Callback):
    """One member's callbacks inside the pack's ``fit``: they get the member's Distiller as
    ``model`` and its logs unprefixed, and validation only at the member's own ``eval_epochs``
    (1-based; None: every epoch), as in a separate run."""

    def __init__(self, index, member, inner, eval_epochs=None):
        super().__init__()
        self.index, self.member, self.inner = index, member, list(inner)
        self.eval_epochs = None if eval_epochs is None else set(eval_epochs)
        self._epoch = 0

    def set_model(self, model):
        super().set_model(model)
        for callback in self.inner:
            callback.set_model(self.member)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.inner:
            callback.set_params(params)

    def _evaluates(self):
        return self.eval_epochs is None or self._epoch + 1 in self.eval_epochs

    def _own(self, logs, with_validation=True):
        """The member's entries of ``logs`` under a separate run's names."""
        own, mine = {}, prefix(self.index)
        for key, value in (logs or {}).items():
            validation = key.startswith("val_")
            name = key[len("val_") :] if validation else key
            if name.startswith(mine):
                if not validation or with_validation:
                    own[("val_" if validation else "") + name[len(mine) :]] = value
            elif not (name[:1] == "s" and "_" in name and name[1 : name.index("_")].isdigit()):
                own[key] = value  # not any member's (e.g. a learning rate Keras adds)
        return own

    def _call(self, method, *args, logs=None, with_validation=True):
        own = self._own(logs, with_validation) if logs is not None else None
        for callback in self.inner:
            try:
                getattr(callback, method)(*args, logs=own)
            except callbacks.NonFiniteLoss as e:
                raise MemberDiverged(self.index, e) from e

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs, with_validation=self._evaluates())

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    # Validation inside fit: only at the member's own evaluation epochs.
    def on_test_begin(self, logs=None):
        if self._evaluates():
            self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        if self._evaluates():
            self._call("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        if self._evaluates():
            self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        if self._evaluates():
            self._call("on_test_batch_end", batch, logs=logs)


def member_callbacks(multi, per_member, eval_epochs=None):
    """The pack's ``fit`` callbacks: ``per_member[i]`` (a list) runs as member i's own.
    ``eval_epochs[i]``: the 1-based epochs member i evaluates (None: all)."""
    eval_epochs = eval_epochs or [None] * len(multi.members)
    return [
        _Member(i, member, inner, epochs)
        for i, (member, inner, epochs) in enumerate(zip(multi.members, per_member, eval_epochs))
    ]
