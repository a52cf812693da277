"""Report sections of the distillation-grid studies (capacity gap, early stopping, ESKD).

Each section is (heading, markdown body): a table, the sentences generated from its numbers
(``findings``), and the figures drawn from the same numbers (``figures``).
"""

import re

from kd_efficacy.report import (
    figures,
    findings,
    histories,
    method_sections,
    paper,
    tables,
    variants,
)

HEADERS = {
    "params": "trainable params",
    "teacher_params": "teacher trainable params",
    "teacher_val_accuracy": "teacher val acc",
    "teacher_test_accuracy": "teacher test acc",
    "test_accuracy": "student test acc",
    "val_accuracy": "student val acc",
    "train_kd": "train KD (no aug.)",
    "val_kd": "validation KD",
    "test_kd": "test KD",
    "test_agreement": "test agreement",
    "teacher_epoch": "teacher epoch",
    "stop_kd_epoch": "stop-KD epoch",
}
CURVE_KEYS = ("train_eval_kd", "val_kd", "train_eval_accuracy", "val_accuracy")


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "variant"


def _image(path, alt):
    return f"![{alt}]({path})"


def _distilled_roles(rows):
    """Distilled roles in reading order (full KD, ESKD, early teachers, other KD methods), one
    example row each."""
    examples = {}
    for row in rows:
        if row["role"] not in ("teacher", "scratch") and row.get("teacher"):
            examples.setdefault(row["role"], row)
    return sorted(examples.values(), key=variants.order)


def _teachers(rows):
    teacher_rows = [r for r in rows if r["role"] == "teacher"]
    teacher_rows.sort(key=lambda r: tables.to_float(r.get("params")) or 0.0)
    values = ["params", "test_accuracy", "val_accuracy"]
    table = tables.aggregate(teacher_rows, ["model"], values)
    headers = {"params": "trainable params", "test_accuracy": "test acc", "val_accuracy": "val acc"}
    body = [findings.teachers(rows), "", tables.markdown(table, ["model"], values, headers)]
    return "Teachers", "\n".join(body)


def _pivot(rows, examples):
    """Student test accuracy: one row per teacher (by size), one column per variant."""
    teacher_acc = {t: findings.stat(g) for t, g in findings.teacher_rows(rows).items()}
    distilled = [r for r in rows if r["role"] in {e["role"] for e in examples}]
    names = [variants.label(e) for e in examples]
    lines = [
        "| teacher | teacher trainable params | teacher test acc | " + " | ".join(names) + " |",
        "|" + "---|" * (3 + len(names)),
    ]
    for teacher, group in findings.by_teacher(distilled).items():
        params = tables.to_float(group[0].get("teacher_params"))
        cells = [teacher, tables.params(params) if params else "–"]
        acc = teacher_acc.get(teacher)  # the fully trained teacher's own run
        cells.append(acc.short() if acc else "–")
        for example in examples:
            found = findings.stat([r for r in group if r["role"] == example["role"]])
            cells.append(found.text() if found else "–")
        lines.append("| " + " | ".join(cells) + " |")
    scratch = findings.stat([r for r in rows if r["role"] == "scratch"])
    if scratch is not None:
        lines.append("| (scratch) | – | – | " + " | ".join([scratch.text()] * len(names)) + " |")
    return "\n".join(lines)


def _capacity_gap(study, rows, examples):
    scratch = findings.stat([r for r in rows if r["role"] == "scratch"])
    body = [
        "Student test accuracy: mean ± std over seeds (n seeds; t-based 95% CI of the mean); "
        "the scratch row repeats the student trained without a teacher. The teacher test acc "
        "column is the fully trained teacher's own run.",
        "",
        _pivot(rows, examples),
        "",
    ]
    for example in examples:
        role = example["role"]
        body.append(f"- {findings.capacity_gap(rows, role)}")
        points = []
        for teacher, group in findings.by_teacher([r for r in rows if r["role"] == role]).items():
            params = tables.to_float(group[0].get("teacher_params"))
            teacher_acc = findings.stat(group, "teacher_test_accuracy")
            points.append((teacher, params, teacher_acc, findings.stat(group)))
        title = f"{study.student}: student accuracy vs teacher ({variants.label(example)})"
        path = figures.capacity_gap(
            study.directory, f"capacity_gap_{_slug(role)}", points, scratch, title
        )
        body.append("")
        body.append(_image(path, title))
        body.append("")
    return "Students: test accuracy by teacher", "\n".join(body).rstrip()


def _curves(study, rows, examples):
    by = ["role", "teacher", "teacher_epoch", "stop_kd_epoch"]
    values = [
        "teacher_val_accuracy",
        "teacher_test_accuracy",
        "test_accuracy",
        "train_kd",
        "val_kd",
        "test_kd",
        "test_agreement",
    ]
    students = [r for r in rows if r["role"] != "teacher"]
    order = {e["role"]: i for i, e in enumerate(examples)}
    table = sorted(
        tables.aggregate(students, by, values),
        key=lambda e: (
            order.get(e["role"], -1),
            tables.to_float(e.get("teacher_params")) or 0.0,
            str(e.get("teacher")),
        ),
    )
    body = [
        "Final-epoch mimicry: KD loss (T² KL(teacher ‖ student)) on the un-augmented training "
        "set, on the validation split and on the test split, and top-1 agreement with the "
        "teacher on the test split; teacher accuracies are the snapshot the student learned "
        "from. Cells: mean ± std over seeds (t-based 95% CI of the mean).",
        "",
        tables.markdown(table, by, values, HEADERS),
        "",
    ]
    scratch_names = [r["run"] for r in rows if r["role"] == "scratch"]
    for example in examples:
        role = example["role"]
        body.append(f"- {findings.mimicry(rows, role)}")
        series, levels = {}, {}
        for teacher, group in findings.by_teacher([r for r in rows if r["role"] == role]).items():
            names = [r["run"] for r in group]
            label = f"teacher {teacher}"
            series[label] = {k: histories.mean_curve(study.histories, names, k) for k in CURVE_KEYS}
            level = findings.stat(group, "teacher_val_accuracy")
            if level is not None:
                levels[label] = level.mean
        if scratch_names:
            series["scratch"] = {
                k: histories.mean_curve(study.histories, scratch_names, k) for k in CURVE_KEYS
            }
        title = f"{study.student}, {variants.label(example)}: mean over seeds"
        path = figures.training_curves(
            study.directory, f"curves_{_slug(role)}", series, title, levels
        )
        body += ["", _image(path, title), ""]
    return "Mimicry over training", "\n".join(body).rstrip()


def _eskd(study, rows, examples):
    chosen = [e for e in examples if variants.kind(e) in (variants.FULL_KD, variants.ESKD)]
    if not any(variants.kind(e) == variants.ESKD for e in chosen):
        return None
    scratch = findings.stat([r for r in rows if r["role"] == "scratch"])
    groups = {}
    for teacher, group in findings.by_teacher(
        [r for r in rows if r["role"] in {e["role"] for e in chosen}]
    ).items():
        bars = {}
        for example in chosen:
            found = findings.stat([r for r in group if r["role"] == example["role"]])
            if found is not None:
                bars[variants.label(example)] = found
        groups[teacher] = bars
    title = f"{study.student}: full KD vs ESKD (dots) vs scratch (band), by teacher"
    path = figures.intervals(study.directory, "kd_vs_eskd", groups, title, scratch=scratch)
    body = [f"- {s}" for s in findings.eskd(rows)] + ["", _image(path, title)]
    return "Full KD vs ESKD vs scratch", "\n".join(body)


def _early_teachers(study, rows, examples):
    early = [e for e in examples if variants.kind(e) == variants.EARLY_TEACHER]
    if not early:
        return None
    final = [e for e in examples if variants.kind(e) == variants.FULL_KD]
    chosen = [r for r in rows if r["role"] in {e["role"] for e in early + final}]
    series = {}
    for teacher, group in findings.by_teacher(chosen).items():
        points = []
        for role in dict.fromkeys(r["role"] for r in group):
            members = [r for r in group if r["role"] == role]
            epoch = variants.teacher_epoch(members[0])
            if not epoch.isdigit():  # the fully trained teacher: its last epoch
                teacher_run = study.planned.get(members[0]["run"], {}).get("teachers", [None])[0]
                epoch = study.planned.get(teacher_run, {}).get("recipe", {}).get("epochs", 0)
            points.append((int(epoch), members))
        series[teacher] = points
    scratch = findings.stat([r for r in rows if r["role"] == "scratch"])
    title = f"{study.student}: accuracy vs the teacher snapshot it learned from"
    plotted = {
        teacher: [
            (epoch, findings.stat(members), findings.stat(members, "teacher_test_accuracy"))
            for epoch, members in points
        ]
        for teacher, points in series.items()
    }
    path = figures.teacher_epoch(study.directory, "teacher_epoch", plotted, scratch, title)
    lines = [
        "| teacher | snapshot epoch | teacher val acc | teacher test acc | student test acc |",
        "|---|---|---|---|---|",
    ]
    for teacher, points in series.items():
        for epoch, members in sorted(points, key=lambda p: p[0]):
            # A snapshot's accuracy is one number shared by all its students' seeds.
            val, test = (
                findings.stat(members, c) for c in ("teacher_val_accuracy", "teacher_test_accuracy")
            )
            shown = [f"{s.mean:.3f}" if s else "–" for s in (val, test)]
            student = findings.stat(members).text()
            lines.append(f"| {teacher} | {epoch} | {' | '.join(shown)} | {student} |")
    body = ["\n".join(lines), ""] + [f"- {s}" for s in findings.early_teacher(rows)]
    body += ["", _image(path, title)]
    return "Early-stopped teachers", "\n".join(body)


def _paper(study, rows):
    table, sentence = paper.comparison(rows, study.dataset, study.student)
    return "Paper comparison", sentence + ("\n\n" + table if table else "")


def sections(study):
    rows = study.complete
    examples = _distilled_roles(rows)
    found = [_teachers(rows)]
    if examples:
        found.append(_capacity_gap(study, rows, examples))
        found.append(method_sections.section(study, rows, examples))
        found.append(_curves(study, rows, examples))
        found.append(_eskd(study, rows, examples))
        found.append(_early_teachers(study, rows, examples))
    found.append(_paper(study, rows))
    return [s for s in found if s is not None]
