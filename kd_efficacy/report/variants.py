"""How a grid student learned from its teacher, named from its fields, not from its role string.

A variant is fixed by (teacher epoch, stop-KD epoch): ('last', None) is full KD, ('last', 8) is
ESKD stopping KD after epoch 8, (5, None) is KD from the teacher's epoch-5 snapshot. Roles are
free names chosen in configs, so reports read the fields.
"""

FULL_KD = "full_kd"
ESKD = "eskd"
EARLY_TEACHER = "early_teacher"
BEST_TEACHER = "best_teacher"


def _text(value):
    return "" if value is None else str(value).strip()


def stop_epoch(row):
    value = _text(row.get("stop_kd_epoch"))
    return int(float(value)) if value else None


def teacher_epoch(row):
    return _text(row.get("teacher_epoch")) or "last"


def kind(row):
    """FULL_KD, ESKD, EARLY_TEACHER or BEST_TEACHER for a distilled row."""
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
    if found == ESKD:
        return f"ESKD (KD off after epoch {stop_epoch(row)})"
    if found == EARLY_TEACHER:
        return f"KD from the epoch-{teacher_epoch(row)} teacher"
    if found == BEST_TEACHER:
        return "KD from the best-epoch teacher"
    return "full KD"


def order(row):
    """Sort key: full KD, then ESKD by stop epoch, then early teachers by epoch."""
    found = kind(row)
    rank = {FULL_KD: 0, ESKD: 1, EARLY_TEACHER: 2, BEST_TEACHER: 3}[found]
    number = stop_epoch(row) if found == ESKD else None
    if found == EARLY_TEACHER:
        number = int(teacher_epoch(row))
    return (rank, number or 0, str(row.get("role")))
