"""Plain sentences stating what a study's numbers show, generated from those numbers.

Every sentence is computed from summary rows (dicts as in ``summary.csv``; values may be strings)
at report time; none is written in advance. Every comparison goes through
``statistics.compare`` and is worded by ``statistics.sentence``: difference of means, its 95% CI
and p, paired by seed when both groups are runs of the same seeds (students of one seed share
initialization and data order across scratch, KD and ESKD, and across teachers). A difference is
called only when its CI excludes zero. Each sentence names the split of its numbers; rankings
that pick something (the best teacher) read the validation split, never the test split.
"""

from kd_efficacy.report import statistics, tables, variants

DIGITS = statistics.DIGITS
HIGHER_KD = "had a higher KD loss than"


def stat(rows, column="test_accuracy"):
    return statistics.summarize([r.get(column) for r in rows])


def compared(rows_a, name_a, rows_b, name_b, column="test_accuracy", verb="beat"):
    """The ``statistics.sentence`` for group a against group b on ``column``."""
    found = statistics.compare(rows_a, rows_b, column)
    return statistics.sentence(found, name_a, name_b, verb)


def _cap(text):
    return text[:1].upper() + text[1:]


def by_teacher(rows):
    """{teacher name: rows}, ordered by teacher size (params), for rows with a result."""
    groups = {}
    for row in rows:
        if tables.to_float(row.get("test_accuracy")) is not None:
            groups.setdefault(row.get("teacher"), []).append(row)
    size = {t: tables.to_float(g[0].get("teacher_params")) or 0.0 for t, g in groups.items()}
    return dict(sorted(groups.items(), key=lambda item: (size[item[0]], item[0])))


def _roles(rows, role):
    return [r for r in rows if r.get("role") == role]


def teacher_rows(rows):
    """The teachers' own runs, keyed like students (teacher = its model, by its params)."""
    return by_teacher(
        [
            dict(r, teacher=r["model"], teacher_params=r.get("params"))
            for r in _roles(rows, "teacher")
        ]
    )


def teachers(rows):
    """The teachers' own accuracy against their size: the ladder check reads validation."""
    entries = teacher_rows(rows)
    if not entries:
        return "No teacher finished, so there is nothing to compare."
    stats = {name: stat(group) for name, group in entries.items()}
    val = {name: stat(group, "val_accuracy") for name, group in entries.items()}
    names = list(stats)
    if len(names) == 1:
        return f"The only teacher, {names[0]}, reached a test accuracy of {stats[names[0]].text()}."
    if any(val[n] is None for n in names):
        val = stats  # runs without validation numbers: say what there is
        split = "test"
    else:
        split = "validation"
    means = [val[n].mean for n in names]
    rises = all(b > a for a, b in zip(means, means[1:]))
    trend = "rose with every step in size" if rises else "did not rise with every step in size"
    best = max(names, key=lambda n: val[n].mean)
    worst = min(names, key=lambda n: val[n].mean)
    runs = "; one run per teacher, so no CI" if all(stats[n].n == 1 for n in names) else ""

    def shown(table, name):
        return table[name].short() if runs else table[name].text()

    sentence = (
        f"Teacher accuracy on the {split} split {trend}: it ranged from {worst} at "
        f"{shown(val, worst)} to {best} at {shown(val, best)} (test split: {shown(stats, worst)} "
        f"and {shown(stats, best)}){runs}; the largest teacher is {names[-1]}."
    )
    if not rises:
        sentence += (
            " So on this ladder a bigger teacher is not always a more accurate one, and teacher "
            "size and teacher accuracy are confounded in the student comparisons below."
        )
    if best != names[-1] and not runs:
        text = compared(entries[best], best, entries[names[-1]], f"the largest, {names[-1]}")
        sentence += f" Test accuracy: {text}."
    return sentence


def _pick_best(groups):
    """The teacher whose students have the highest mean *validation* accuracy, or None."""
    val = {t: stat(g, "val_accuracy") for t, g in groups.items()}
    val = {t: s for t, s in val.items() if s is not None}
    return (max(val, key=lambda t: val[t].mean), val) if val else (None, val)


def capacity_gap(rows, role="kd"):
    """Which teacher taught the student best under variant ``role``; is it the largest?"""
    students = _roles(rows, role)
    groups = by_teacher(students)
    if not groups:
        return f"No student of variant '{role}' finished, so there is nothing to compare."
    student = students[0]["model"]
    what = variants.label(students[0])
    largest = list(groups)[-1]
    scratch = _roles(rows, "scratch")
    if len(groups) == 1:
        sentence = (
            f"Only one teacher ({largest}) taught {student} with {what}; its students reached a "
            f"test accuracy of {stat(groups[largest]).text()}, so this study cannot say whether a "
            "larger teacher helps."
        )
        best = largest
    else:
        best, val = _pick_best(groups)
        if best is None:
            sentence = (
                f"With {what}, no student of {student} has a validation accuracy, so this report "
                "picks no best teacher (it does not select on the test split)."
            )
        else:
            if best == largest:
                other = max((t for t in val if t != best), key=lambda t: val[t].mean)
                picked = f"the largest teacher, {best}; the runner-up was {other}"
            else:
                other = largest
                picked = f"{best}, not the largest teacher, {largest}"
            a, b = f"students of {best}", f"students of {other}"
            on_val = compared(groups[best], a, groups[other], b, "val_accuracy")
            sentence = (
                f"With {what}, the students of {student} with the highest mean validation "
                f"accuracy ({val[best].short()}) were those of {picked}. Validation accuracy: "
                f"{on_val}. Test accuracy: {compared(groups[best], a, groups[other], b)}."
            )
    if scratch:
        against = [t for t in dict.fromkeys([best, largest]) if t is not None]
        parts = [
            compared(groups[t], f"students of {t}", scratch, f"{student} from scratch")
            for t in against
        ]
        sentence += " Against training from scratch (test accuracy): " + "; ".join(parts) + "."
    return sentence


def mimicry(rows, role="kd"):
    """Which teacher the student mimicked best and worst (final KD loss).

    Teachers are ranked on the training set and on the validation split; the held-out gap
    between the two hardest to mimic is then stated on the test split (no ranking reads test).
    """
    students = _roles(rows, role)
    groups = by_teacher(students)
    rankings = (
        ("train_kd", "train_kd", "training set (no augmentation)"),
        ("val_kd", "test_kd", "validation split"),
    )
    parts, hardest_on = [], {}
    for column, tested, where in rankings:
        stats = {n: stat(g, column) for n, g in groups.items()}
        stats = {n: s for n, s in stats.items() if s is not None}
        if len(stats) < 2:
            continue
        ranked = sorted(stats, key=lambda n: stats[n].mean)
        easiest, hardest, second = ranked[0], ranked[-1], ranked[-2]
        if round(stats[easiest].mean, DIGITS) == round(stats[hardest].mean, DIGITS):
            parts.append(f"on the {where} it was {stats[hardest].short()} with every teacher")
            continue
        hardest_on[where] = hardest
        a, b = f"students of {hardest}", f"students of {second}"
        gap = compared(groups[hardest], a, groups[second], b, tested, HIGHER_KD)
        on = "" if tested == column else "on the test split, "
        parts.append(
            f"on the {where} it was lowest with {easiest} ({stats[easiest].short()}) and "
            f"highest with {hardest} ({stats[hardest].short()}): {on}{gap}"
        )
    if not parts:
        if len(groups) != 1:
            return "No student has KD-loss numbers, so there is no mimicry comparison."
        ((teacher, group),) = groups.items()
        found = [
            f"{stat(group, column).text()} on the {where}"
            for column, where in (("train_kd", "training set"), ("test_kd", "test split"))
            if stat(group, column) is not None
        ]
        return (
            f"With {variants.label(students[0])} (the only teacher: {teacher}), the student's "
            f"final KD loss was {' and '.join(found) or 'not recorded'}."
        )
    largest = list(groups)[-1]
    hardest_sets = [where for where, name in hardest_on.items() if name == largest]
    others = [where for where in hardest_on if where not in hardest_sets]
    verdict = []
    if hardest_sets:
        verdict.append(f"had the highest mean KD loss on the {' and the '.join(hardest_sets)}")
    if others:
        verdict.append(f"did not have the highest on the {' and the '.join(others)}")
    text = f"With {variants.label(students[0])}, the student's final KD loss: {'; '.join(parts)}"
    if verdict:
        text += f"; the largest teacher, {largest}, {', and '.join(verdict)}"
    return text + "."


def eskd(rows):
    """Per teacher: each ESKD variant against full KD and scratch (student test accuracy)."""
    scratch = _roles(rows, "scratch")
    distilled = [r for r in rows if r.get("teacher") and r.get("role") != "teacher"]
    sentences = []
    for teacher, group in by_teacher(distilled).items():
        full = [r for r in group if variants.kind(r) == variants.FULL_KD]
        for role in sorted({r["role"] for r in group if variants.kind(r) == variants.ESKD}):
            members = [r for r in group if r["role"] == role]
            name = f"ESKD (KD off after epoch {variants.stop_epoch(members[0])})"
            parts = []
            if full:
                parts.append(compared(members, name, full, "full KD"))
            if scratch:
                parts.append(compared(members, name, scratch, "scratch"))
            if parts:
                sentences.append(f"Teacher {teacher}, student test accuracy: {'; '.join(parts)}.")
    return sentences


def level(rows):
    """The teacher accuracy students learned from (the same for every seed), on both splits."""
    shown = []
    for column, split in (("teacher_val_accuracy", "val"), ("teacher_test_accuracy", "test")):
        found = stat(rows, column)
        if found is not None:
            shown.append(f"{split} {found.mean:.{DIGITS}f}")
    return "teacher acc " + (", ".join(shown) if shown else "unknown")


def early_teacher(rows):
    """Per teacher: students of early-stopped snapshots against the final teacher's students."""
    distilled = [r for r in rows if r.get("teacher") and r.get("role") != "teacher"]
    sentences = []
    for teacher, group in by_teacher(distilled).items():
        final = [r for r in group if variants.kind(r) == variants.FULL_KD]
        early = [r for r in group if variants.kind(r) == variants.EARLY_TEACHER]
        for epoch in sorted({int(variants.teacher_epoch(r)) for r in early}):
            members = [r for r in early if int(variants.teacher_epoch(r)) == epoch]
            name = f"students of the epoch-{epoch} snapshot ({level(members)})"
            if not final:
                sentences.append(
                    f"Teacher {teacher}: {name} reached a test accuracy of {stat(members).text()}."
                )
                continue
            text = compared(members, name, final, f"students of the final teacher ({level(final)})")
            sentences.append(f"Teacher {teacher}, student test accuracy: {text}.")
    return sentences


def chain(rows):
    """The chain's end against direct distillation and scratch (student test accuracy)."""
    links = sorted(
        {r["role"] for r in rows if str(r.get("role", "")).startswith("chain_")},
        key=lambda role: int(role.split("_")[1]),
    )
    if not links:
        return "No chain link finished, so there is nothing to compare."
    end = _roles(rows, links[-1])
    teacher = _roles(rows, "teacher")
    path = [teacher[0]["model"]] if teacher else []
    path += [_roles(rows, link)[0]["model"] for link in links]
    name = f"the chain {' → '.join(path)}"
    parts = []
    for role, other in (("direct", "direct KD from the teacher"), ("scratch", "scratch")):
        found = _roles(rows, role)
        if found:
            parts.append(compared(end, name, found, other))
    if not parts:
        return (
            f"{_cap(name)} ended at a test accuracy of {stat(end).text()}; there is no direct or "
            "scratch run to compare."
        )
    return f"Student test accuracy: {'; '.join(parts)}."


def ensemble_taught(rows):
    taught, direct = _roles(rows, "ensemble_taught"), _roles(rows, "direct")
    if not taught or not direct:
        return None
    text = compared(taught, "the student taught by the independent ensemble", direct, "direct KD")
    return f"Student test accuracy: {text}."


def _as(rows, column):
    """Rows of one column renamed 'value' (to compare two columns of the same rows)."""
    return [{"seed": r.get("seed"), "value": r.get(column)} for r in rows]


def ensembles(ensemble_rows):
    """Chain vs independent vs distilled ensembles: accuracy, and disagreement among members."""
    groups = {}
    for row in ensemble_rows:
        groups.setdefault(row["group"], []).append(row)
    if not groups:
        return "No ensemble was evaluated."
    acc = {g: stat(rows, "ensemble_accuracy") for g, rows in groups.items()}
    ranked = sorted(acc, key=lambda g: -acc[g].mean)
    sentences = [
        "Ensemble test accuracy ranked "
        + ", then ".join(f"{g} at {acc[g].text()}" for g in ranked)
        + "."
    ]
    if "chain" in acc and "independent" in acc:
        text = compared(
            groups["chain"],
            "the chain ensemble",
            groups["independent"],
            "the independent ensemble",
            "ensemble_accuracy",
        )
        sentences.append(f"Test accuracy: {text}.")
    against = []
    for g, rows in groups.items():
        a, b = _as(rows, "ensemble_accuracy"), _as(rows, "best_member_accuracy")
        found = statistics.compare(a, b, "value")
        against.append(f"{g}: " + statistics.sentence(found, "the ensemble", "its best member"))
    sentences.append(
        "Each ensemble against its best member (test accuracy; the member is picked on the "
        "validation split): " + "; ".join(against) + "."
    )
    diverse = {g: stat(rows, "disagreement") for g, rows in groups.items()}
    diverse = {g: s for g, s in diverse.items() if s is not None}
    if diverse:
        sentences.append(
            "Members disagreed on a fraction of test images of "
            + ", ".join(f"{diverse[g].text()} ({g})" for g in diverse)
            + "."
        )
    if "chain" in diverse and "independent" in diverse:  # the paper's question, fixed in advance
        text = compared(
            groups["chain"],
            "members of the chain ensemble",
            groups["independent"],
            "members of the independent ensemble",
            "disagreement",
            "disagreed more often than",
        )
        sentences.append(f"Disagreement: {text}.")
    return " ".join(sentences)
