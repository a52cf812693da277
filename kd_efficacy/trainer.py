"""What a run trains with: its data, student, teachers and compiled Distiller, restored.

The "build" step of a run (tasks._execute: resume state -> build -> fit -> record), in the spirit
of Model Garden's Task/Trainer split: ``build`` turns a spec into the objects ``fit`` needs, and
``compile_distiller`` is the one compile step, which the benchmark reuses so it times the
optimizer a real run trains with.
"""

import dataclasses
import os

import keras

from kd_efficacy import (
    checkpoint,
    data,
    distribute,
    eval_groups,
    learning_rate,
    mimicry,
    models,
    teacher_logits,
    teachers,
)
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe


@dataclasses.dataclass
class Built:
    recipe: Recipe
    dataset: object  # data.Data, with cached teacher logits attached to its eval streams
    student: keras.Model
    teachers: list  # the loaded (frozen) teacher models
    teacher_dirs: list
    distiller: Distiller
    finished: int  # epochs the restored checkpoint holds: fit's initial epoch
    # The teachers' own accuracy on both splits (validation for choosing, test for reporting).
    teacher_accuracy: dict | None
    # A packed run's member index and its pack's SharedEvaluation (packed_runs.py); else None.
    pack_index: int | None = None
    pack_evaluation: object = None

    def evaluate(self, stream):
        """The Distiller's metrics over ``stream``: its own pass, or its pack's shared one."""
        if self.pack_evaluation is not None:
            return self.pack_evaluation.member_metrics(self.pack_index, stream)
        return self.distiller.evaluate(stream, verbose=0, return_dict=True)


def build(ctx, spec, checkpoints, finished):
    """The run's objects; ``finished`` epochs (read from ``checkpoints``) decide where the data
    stream starts, and the checkpoint is restored into the compiled Distiller."""
    return build_pack(ctx, [spec], [checkpoints], finished)[0]


def build_pack(ctx, specs, checkpoints, finished):
    """One ``Built`` per spec, sharing one data stream and one set of loaded teachers: the runs
    of a pack (packed_runs.py), which share seed, recipe and teachers, at the same ``finished``
    epoch. Each student is built right after seeding, as a separate run builds it, so its
    initial weights are the separate run's."""
    spec = specs[0]
    recipe = Recipe.from_dict(spec["recipe"])
    keras.utils.set_random_seed(spec["seed"])
    dataset = data.build(
        recipe.dataset, **recipe.data_args(), seed=spec["seed"], initial_epoch=finished
    )
    # Across workers ``train`` becomes a distributed dataset: each worker decodes its share only.
    dataset = dataclasses.replace(dataset, train=distribute.train_input(ctx.strategy, dataset))
    info = dataset.info
    teacher_dirs = [
        os.path.normpath(os.path.join(ctx.model_dir, t["dir"])) for t in spec["teachers"]
    ]
    for teacher_dir in teacher_dirs:
        teachers.check_compatible(
            teacher_dir, teachers.model_info(teacher_dir), info.num_classes, info.image_shape
        )
    with ctx.strategy.scope():
        students = []
        for member in specs:
            keras.utils.set_random_seed(member["seed"])
            students.append(
                models.build(
                    member["model"],
                    input_shape=info.image_shape,
                    num_classes=info.num_classes,
                    mean=info.mean,
                    std=info.std,
                    sync_batchnorm=recipe.sync_batchnorm,
                )
            )
        loaded = [teachers.load(d, t["epoch"]) for d, t in zip(teacher_dirs, spec["teachers"])]
        if loaded:  # eval streams carry the teachers' cached logits (teacher_logits.py)
            snapshots = [(d, t["epoch"]) for d, t in zip(teacher_dirs, spec["teachers"])]
            dataset = teacher_logits.attach(dataset, loaded, snapshots, recipe)
        # Small images: eval passes in groups of batches, one forward call each (same metrics).
        dataset, eval_chunk = eval_groups.regroup(
            dataset, recipe.global_batch_size, ctx.strategy.num_replicas_in_sync
        )
        distillers = []
        for member, student, member_checkpoints in zip(specs, students, checkpoints):
            distiller = Distiller(
                student,
                loaded,
                kd=KDSettings.from_spec(member),
                weight_decay=recipe.weight_decay,
                num_classes=info.num_classes,
                seed=member["seed"],
            )
            distiller.eval_chunk = eval_chunk
            compile_distiller(
                distiller, recipe, dataset.steps_per_epoch, ctx.precision, ctx.jit_compile
            )
            restored = checkpoint.restore(member_checkpoints, distiller)
            distillers.append((distiller, restored))
    # Mimicry and HParams (mimicry.py): the teachers' own level, once per run (or pack).
    teacher_accuracy = (
        {
            "val": mimicry.teacher_accuracy(loaded, dataset.eval),
            "test": mimicry.teacher_accuracy(loaded, dataset.test),
        }
        if loaded
        else None
    )
    return [
        Built(recipe, dataset, student, loaded, teacher_dirs, distiller, restored, teacher_accuracy)
        for student, (distiller, restored) in zip(students, distillers)
    ]


def compile_distiller(
    distiller, recipe, steps_per_epoch, precision, jit_compile=False, steps_per_execution=1
):
    """SGD with the recipe's schedule (loss-scaled under float16), compiled; the optimizer's
    slots are built now so a checkpoint restores into them before the first step."""
    optimizer = learning_rate.sgd_for(recipe, steps_per_epoch)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    distiller.compile(
        optimizer=optimizer, jit_compile=jit_compile, steps_per_execution=steps_per_execution
    )
    optimizer.build(distiller.student.trainable_variables)
    return distiller
