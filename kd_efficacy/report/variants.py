"""How a grid student learned from its teacher, named from its fields, not from its role string.

A variant is fixed by (teacher epoch, stop-KD epoch): ('last', None) is full KD, ('last', 8) is
ESKD stopping KD after epoch 8, (5, None) is KD from the teacher's epoch-5 snapshot. Roles are
free names chosen in configs, so reports read the fields. A KD method other than vanilla KD
(``kd_method`` in the summary: 'dkd', 'dist', 'kd+mixup', ...) is a kind of its own, METHOD.
"""

FULL_KD = "full_kd"
ESKD = "eskd"
EARLY_TEACHER = "early_teacher"
BEST_TEACHER = "best_teacher"
METHOD = "method"
# Readers' names of the KD methods (summary ``kd_method``); 'kd' is vanilla KD.
METHOD_NAMES = {
    "dkd": "DKD",
    "dist": "DIST",
    "kd+mixup": "function matching (KD on MixUp)",
    "kd+cutmix": "function matching (KD on CutMix)",
}


def _text(value):
    return "" if value is None else str(value).strip()


def stop_epoch(row):
    value = _text(row.get("stop_kd_epoch"))
    return int(float(value)) if value else None


def teacher_epoch(row):
    return _text(row.get("teacher_epoch")) or "last"


def method(row):
    """'kd' (vanilla), 'dkd', 'dist', or 'kd+mixup' style (a method on mixed batches)."""
    return _text(row.get("kd_method")) or "kd"


def method_name(found):
    return METHOD_NAMES.get(found, found)


def kind(row):
    """FULL_KD, ESKD, EARLY_TEACHER, BEST_TEACHER or METHOD for a distilled row."""
    if method(row) != "kd":
        return METHOD
    if stop_epoch(row) is not None:
        return ESKD
    epoch = teacher_epoch(row)
    if epoch.isdigit():
        return EARLY_TEACHER
    return BEST_TEACHER if epoch == "best" else FULL_KD


def label(row):
    """A reader's name for the variant of a distilled row (or 'scratch' / 'teacher')."""
    if row.get("role") in ("scratch", "teacher"):
        return str(row["role"])
    found = kind(row)
    if found == METHOD:
        name = method_name(method(row))
        if stop_epoch(row) is not None:
            name += f", off after epoch {stop_epoch(row)}"
        epoch = teacher_epoch(row)
        return name if epoch == "last" else f"{name} from the epoch-{epoch} teacher"
    if found == ESKD:
        return f"ESKD (KD off after epoch {stop_epoch(row)})"
    if found == EARLY_TEACHER:
        return f"KD from the epoch-{teacher_epoch(row)} teacher"
    if found == BEST_TEACHER:
        return "KD from the best-epoch teacher"
    return "full KD"


def order(row):
    """Sort key: full KD, then ESKD by stop epoch, early teachers by epoch, other methods."""
    found = kind(row)
    rank = {FULL_KD: 0, ESKD: 1, EARLY_TEACHER: 2, BEST_TEACHER: 3, METHOD: 4}[found]
    number = stop_epoch(row) if found == ESKD else None
    if found == EARLY_TEACHER:
        number = int(teacher_epoch(row))
    return (rank, number or 0, str(row.get("role")))
