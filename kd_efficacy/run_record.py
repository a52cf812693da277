"""The record of a finished run: its ``result.json`` fields, the exported student, final HParams.

The last step of a run (tasks._execute: resume state -> build -> fit -> record). What a study's
summary reads comes from here: the final test metrics, the last and best epochs of the history,
the teachers' own accuracy, the model's trainable parameter count.
"""

import time

from kd_efficacy import atomic_io, export, hardware, hparams_logging, models, run_dir


def record(ctx, spec, built, paths, out_dir, started):
    """Evaluates the final model on test, exports it and writes the complete result."""
    info, recipe = built.dataset.info, built.recipe
    test = built.evaluate(built.dataset.test)
    history = atomic_io.read_json_lines(paths["metrics"])
    accuracy = built.teacher_accuracy
    fields = {
        "task": spec["task"],
        "model": {
            "name": spec["model"],
            # Trainable parameters, as papers count them (BatchNorm statistics excluded).
            "params": models.trainable_param_count(built.student),
            "input_shape": list(info.image_shape),
            "num_classes": info.num_classes,
            "mean": list(info.mean),
            "std": list(info.std),
        },
        "dataset": info.name,
        "splits": {"train": info.num_train, "validation": info.num_eval, "test": info.num_test},
        "selection_split": "validation",  # best epoch/snapshot; test is for reporting only
        "teachers": spec["teachers"],
        "seed": spec["seed"],
        "epochs": recipe.epochs,
        "last": history[-1] if history else {},
        "best": best(history),
        "test": {k: float(v) for k, v in test.items()},
        "train_seconds": float(sum(row.get("epoch_seconds", 0.0) for row in history)),
        "session_seconds": time.time() - started,
        "replicas": ctx.strategy.num_replicas_in_sync,
        "teacher_val_accuracy": accuracy and accuracy["val"],
        "teacher_test_accuracy": accuracy and accuracy["test"],
        "hardware": hardware.describe(),
    }
    sample = next(iter(built.dataset.test))[0][:8]
    error = export.export_student(
        built.student, paths["export"], sample, info.class_names, recipe.export_tflite
    )
    fields["export"] = {
        "dir": run_dir.EXPORT_DIR,
        "max_logit_error": error,
        "class_names": run_dir.CLASS_NAMES,
    }
    hparams_logging.log_final(paths["logs"], fields, recipe.epochs)
    return run_dir.write_result(out_dir, spec, "complete", **fields)


def best(history):
    """The metrics row of the best epoch by validation accuracy ({} when none was evaluated)."""
    key = "val_accuracy"
    rows = [row for row in history if key in row]
    return max(rows, key=lambda row: row[key]) if rows else {}
