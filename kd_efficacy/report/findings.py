"""Plain sentences stating what a study's numbers show, generated from those numbers.

Every sentence is computed from summary rows (dicts as in ``summary.csv``; values may be strings)
at report time; none is written in advance. Differences are judged against the spread over
seeds: a gap no larger than the larger of the two standard deviations is called "within one
standard deviation", i.e. not a clear difference; with one seed there is no spread to judge by,
and the sentence says so.
"""

import dataclasses
import statistics

from kd_efficacy.report import tables, variants

DIGITS = 3


@dataclasses.dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values):
        numbers = [x for x in (tables.to_float(v) for v in values) if x is not None]
        if not numbers:
            return None
        std = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
        return cls(statistics.fmean(numbers), std, len(numbers))

    def text(self):
        if self.n > 1:
            return f"{self.mean:.{DIGITS}f} ± {self.std:.{DIGITS}f}"
        return f"{self.mean:.{DIGITS}f}"


def stat(rows, column="test_accuracy"):
    return Stat.of([r.get(column) for r in rows])


def spread_note(a, b):
    """How the gap between two Stats compares with their spread over seeds."""
    if a.n < 2 and b.n < 2:
        return "with one seed each, so there is no spread to judge it by"
    if abs(a.mean - b.mean) <= max(a.std, b.std):
        return "within one standard deviation, so not a clear difference"
    return "more than one standard deviation"


def spread_clause(a, b):
    """'the gap of 0.011 is <spread note>' (or why there is no spread to judge it by)."""
    gap = f"{abs(a.mean - b.mean):.{DIGITS}f}"
    if a.n < 2 and b.n < 2:
        return f"with one seed each, there is no spread to judge the gap of {gap} by"
    return f"the gap of {gap} is {spread_note(a, b)}"


def tied(a, b):
    return round(a.mean, DIGITS) == round(b.mean, DIGITS)


def versus(name_a, a, name_b, b):
    """'A reached x, better than B at y: a gap of g, <spread note>' (higher is better)."""
    if tied(a, b):
        return f"{name_a} reached {a.text()}, the same as {name_b} at {b.text()}"
    relation = "better" if a.mean > b.mean else "worse"
    return (
        f"{name_a} reached {a.text()}, {relation} than {name_b} at {b.text()}: a gap of "
        f"{abs(a.mean - b.mean):.{DIGITS}f}, {spread_note(a, b)}"
    )


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


def teachers(rows):
    """The teachers' own test accuracy against their size."""
    entries = by_teacher(
        [
            dict(r, teacher=r["model"], teacher_params=r.get("params"))
            for r in _roles(rows, "teacher")
        ]
    )
    if not entries:
        return "No teacher finished, so there is nothing to compare."
    stats = {name: stat(group) for name, group in entries.items()}
    names = list(stats)
    if len(names) == 1:
        return f"The only teacher, {names[0]}, reached a test accuracy of {stats[names[0]].text()}."
    best = max(names, key=lambda n: stats[n].mean)
    worst = min(names, key=lambda n: stats[n].mean)
    means = [stats[n].mean for n in names]
    trend = (
        "rose with every step in size"
        if all(b > a for a, b in zip(means, means[1:]))
        else "did not rise with every step in size"
    )
    return (
        f"Teacher test accuracy {trend}: it ranged from {stats[worst].text()} ({worst}) to "
        f"{stats[best].text()} ({best}); the largest teacher is {names[-1]}."
    )


def capacity_gap(rows, role="kd"):
    """Which teacher taught the student best under variant ``role``; is it the largest?"""
    students = _roles(rows, role)
    groups = by_teacher(students)
    if not groups:
        return f"No student of variant '{role}' finished, so there is nothing to compare."
    student = students[0]["model"]
    what = variants.label(students[0])
    stats = {name: stat(group) for name, group in groups.items()}
    largest = list(stats)[-1]
    best = max(stats, key=lambda n: stats[n].mean)
    if len(stats) == 1:
        sentence = (
            f"Only one teacher ({best}) taught {student} with {what}, reaching "
            f"{stats[best].text()}, so this study cannot say whether a larger teacher helps."
        )
    elif tied(stats[best], stats[largest]) and best != largest:
        sentence = (
            f"{best} and the largest teacher, {largest}, taught {student} with {what} equally well "
            f"({stats[best].text()} and {stats[largest].text()})."
        )
    elif best == largest:
        runner_up = max((n for n in stats if n != best), key=lambda n: stats[n].mean)
        sentence = (
            f"The best teacher for {student} with {what} was the largest, {best} "
            f"({stats[best].text()}); the runner-up, {runner_up} ({stats[runner_up].text()}), "
            f"was behind by {stats[best].mean - stats[runner_up].mean:.{DIGITS}f}, "
            f"{spread_note(stats[best], stats[runner_up])}."
        )
    else:
        sentence = (
            f"The best teacher for {student} with {what} was {best} ({stats[best].text()}), "
            f"not the largest, {largest} ({stats[largest].text()}); "
            f"{spread_clause(stats[best], stats[largest])}."
        )
    scratch = stat(_roles(rows, "scratch"))
    if scratch is not None:
        sentence += (
            " Against training from scratch, "
            + versus(f"KD from {best}", stats[best], f"{student} from scratch", scratch)
            + "."
        )
    return sentence


def mimicry(rows, role="kd", eval_name="test set"):
    """Which teacher the student mimicked best and worst (final KD loss, train and eval set)."""
    students = _roles(rows, role)
    groups = by_teacher(students)
    parts, hardest_on = [], {}
    for column, where in (("train_kd", "training set"), ("test_kd", eval_name)):
        stats = {n: stat(g, column) for n, g in groups.items()}
        stats = {n: s for n, s in stats.items() if s is not None}
        if len(stats) < 2:
            continue
        easiest = min(stats, key=lambda n: stats[n].mean)
        hardest = max(stats, key=lambda n: stats[n].mean)
        hardest_on[where] = hardest
        parts.append(
            f"on the {where} it was lowest with {easiest} ({stats[easiest].text()}) and "
            f"highest with {hardest} ({stats[hardest].text()})"
        )
    if not parts:
        if len(groups) != 1:
            return "No student has KD-loss numbers, so there is no mimicry comparison."
        ((teacher, group),) = groups.items()
        found = [
            f"{stat(group, column).text()} on the {where}"
            for column, where in (("train_kd", "training set"), ("test_kd", eval_name))
            if stat(group, column) is not None
        ]
        return (
            f"With {variants.label(students[0])} from the only teacher, {teacher}, the student's "
            f"final KD loss was {' and '.join(found) or 'not recorded'}."
        )
    largest = list(groups)[-1]
    hardest_sets = [where for where, name in hardest_on.items() if name == largest]
    verdict = (
        f"the largest teacher, {largest}, was the hardest to mimic on the "
        + " and the ".join(hardest_sets)
        if hardest_sets
        else f"the largest teacher, {largest}, was not the hardest to mimic"
    )
    return (
        f"With {variants.label(students[0])}, the student's final KD loss: {'; '.join(parts)}; "
        f"{verdict}."
    )


def eskd(rows):
    """Per teacher: each ESKD variant against full KD and scratch."""
    scratch = stat(_roles(rows, "scratch"))
    distilled = [r for r in rows if r.get("teacher") and r.get("role") != "teacher"]
    sentences = []
    for teacher, group in by_teacher(distilled).items():
        full = stat([r for r in group if variants.kind(r) == variants.FULL_KD])
        for role in sorted({r["role"] for r in group if variants.kind(r) == variants.ESKD}):
            members = [r for r in group if r["role"] == role]
            name = f"ESKD from {teacher} (KD off after epoch {variants.stop_epoch(members[0])})"
            parts = []
            if full is not None:
                parts.append(versus(name, stat(members), f"full KD from {teacher}", full))
            if scratch is not None:
                parts.append(versus("it" if parts else name, stat(members), "scratch", scratch))
            if parts:
                sentences.append("; ".join(parts) + ".")
    return sentences


def _level(rows):
    """A teacher accuracy (the same for every seed): its mean, without a spread."""
    found = stat(rows, "teacher_accuracy")
    return "unknown" if found is None else f"{found.mean:.{DIGITS}f}"


def early_teacher(rows):
    """Per teacher: students of early-stopped snapshots against the final teacher's students."""
    distilled = [r for r in rows if r.get("teacher") and r.get("role") != "teacher"]
    sentences = []
    for teacher, group in by_teacher(distilled).items():
        final = [r for r in group if variants.kind(r) == variants.FULL_KD]
        epochs = {
            int(variants.teacher_epoch(r))
            for r in group
            if variants.kind(r) == variants.EARLY_TEACHER
        }
        for epoch in sorted(epochs):
            members = [
                r
                for r in group
                if variants.kind(r) == variants.EARLY_TEACHER
                and int(variants.teacher_epoch(r)) == epoch
            ]
            early = f"{teacher}'s epoch-{epoch} snapshot (teacher test acc {_level(members)})"
            if not final:
                sentences.append(f"The student of {early} reached {stat(members).text()}.")
                continue
            text = versus(
                f"The student of {early}",
                stat(members),
                f"the student of the final {teacher} (teacher test acc {_level(final)})",
                stat(final),
            )
            sentences.append(text + ".")
    return sentences


def chain(rows):
    """The chain's end against direct distillation and scratch."""
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
    name = f"The chain {' → '.join(path)}"
    parts = []
    for role, other in (("direct", "direct KD from the teacher"), ("scratch", "scratch")):
        found = stat(_roles(rows, role))
        if found is not None:
            parts.append(versus(name if not parts else "it", stat(end), other, found))
    if not parts:
        return f"{name} ended at {stat(end).text()}; there is no direct or scratch run to compare."
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def ensemble_taught(rows):
    taught = stat(_roles(rows, "ensemble_taught"))
    direct = stat(_roles(rows, "direct"))
    if taught is None or direct is None:
        return None
    text = versus("The student taught by the independent ensemble", taught, "direct KD", direct)
    return text + "."


def ensembles(ensemble_rows):
    """Chain vs independent vs distilled ensembles: accuracy, and disagreement among members."""
    groups = {}
    for row in ensemble_rows:
        groups.setdefault(row["group"], []).append(row)
    if not groups:
        return "No ensemble was evaluated."
    acc = {g: stat(rows, "ensemble_accuracy") for g, rows in groups.items()}
    gain = {
        g: Stat.of(
            [
                tables.to_float(r["ensemble_accuracy"]) - tables.to_float(r["best_member_accuracy"])
                for r in rows
            ]
        )
        for g, rows in groups.items()
    }
    diverse = {g: stat(rows, "disagreement") for g, rows in groups.items()}
    ranked = sorted(acc, key=lambda g: -acc[g].mean)
    sentence = "Ensemble accuracy ranked " + ", then ".join(
        f"{g} ({acc[g].text()})" for g in ranked
    )
    if "chain" in acc and "independent" in acc:
        sentence += "; " + versus(
            "the chain ensemble", acc["chain"], "the independent ensemble", acc["independent"]
        )
    most = max(diverse, key=lambda g: diverse[g].mean)
    sentence += (
        f". Members disagreed most in the {most} ensemble ({diverse[most].text()} of test images)"
        f", and ensembling gained {gain[ranked[0]].text()} over the best member in the "
        f"{ranked[0]} ensemble."
    )
    return sentence
