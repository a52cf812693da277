"""Teachers come from run directories: a complete training run and one of its snapshots, or an
imported pretrained model (import_teacher.py), whose only snapshots are 'last' and 'best'.

``epoch`` is 'last', 'best' or a 1-based epoch number for which the run kept a snapshot
(``TeacherSnapshots``), which is how early-stopped teachers are used without retraining.
"""

import os

from kd_efficacy import import_teacher, keras_saving_fix, models, run_dir
from kd_efficacy.errors import ConfigError


def describe(teacher_dir, epoch):
    """The teacher's identity for a student's spec; validates the directory and the epoch."""
    result = run_dir.read_result(teacher_dir)
    if result is None or result.get("status") != "complete":
        status = "missing" if result is None else result.get("status")
        raise ConfigError(
            f"teacher directory {teacher_dir} holds no complete run (result.json {status}); "
            "train the teacher first (gin_configs/runs/train.gin) or fix TEACHER_DIR"
        )
    snapshot_dir = os.path.join(teacher_dir, run_dir.SNAPSHOTS_DIR)
    epoch = str(epoch)
    if epoch.isdigit() and import_teacher.is_imported(result):
        raise no_trajectory(teacher_dir, epoch)
    if not os.path.exists(run_dir.snapshot_path(snapshot_dir, epoch)):
        kept = run_dir.snapshot_epochs(snapshot_dir)
        raise ConfigError(
            f"teacher {teacher_dir} has no snapshot for TEACHER_EPOCH={epoch!r}; available: "
            f"'last', 'best' and epochs {kept} (keep more with train.snapshot_epochs)"
        )
    return {"config_hash": result["config_hash"], "epoch": epoch}


def no_trajectory(teacher, epoch):
    """The one line refusing an early-stopped snapshot of a pretrained (imported) teacher."""
    return ConfigError(
        f"teacher {teacher} is pretrained, not trained here: it has no epoch snapshots, so "
        f"TEACHER_EPOCH={epoch} cannot be used (full KD and ESKD can); for early-stopped "
        "teachers train the teacher here (a model name in TEACHERS), or give each epoch's "
        "checkpoint as its own teacher ('saved_model:/path/epoch_N.keras')"
    )


def model_info(teacher_dir):
    """Architecture, input shape, classes and normalization of a complete teacher run."""
    return run_dir.read_result(teacher_dir)["model"]


def check_compatible(teacher_dir, model_info, num_classes, image_shape):
    """Teacher and student must share the label space and the input images."""
    if model_info["num_classes"] != num_classes:
        raise ConfigError(
            f"teacher {teacher_dir} predicts {model_info['num_classes']} classes but the student's "
            f"dataset has {num_classes}; distill on the dataset the teacher was trained on"
        )
    if tuple(model_info["input_shape"]) != tuple(image_shape):
        raise ConfigError(
            f"teacher {teacher_dir} takes images of shape {tuple(model_info['input_shape'])} but "
            f"the student's data has {tuple(image_shape)}; use the same dataset and image_size"
        )


def load(teacher_dir, epoch):
    """Builds the teacher model and loads the requested snapshot (call inside strategy scope)."""
    result = describe(teacher_dir, epoch) and run_dir.read_result(teacher_dir)
    info = result["model"]
    if import_teacher.is_imported(result):
        teacher = import_teacher.load(teacher_dir)
    else:
        teacher = models.build(
            info["name"],
            input_shape=tuple(info["input_shape"]),
            num_classes=info["num_classes"],
            mean=info.get("mean"),
            std=info.get("std"),
        )
    keras_saving_fix.cache_skipsets()
    teacher.load_weights(
        run_dir.snapshot_path(os.path.join(teacher_dir, run_dir.SNAPSHOTS_DIR), epoch)
    )
    teacher.trainable = False
    return teacher
