"""The KD-methods report section: per method, does the student keep improving as the teacher
grows, and does any method beat vanilla KD at the largest teacher (issue 16)?

Written only when a grid study has a variant of another KD method (``variants.METHOD``); then
every distilled variant of the study (vanilla KD and ESKD included) is read as a method. All
comparisons are paired by seed (``statistics.compare``, via ``findings.compared``) on the test
split, and worded "no clear difference" whenever the 95% CI of the difference includes zero.
"""

from kd_efficacy.report import figures, findings, statistics, tables, variants

IMPROVED, WORSE, UNCLEAR = "improved", "worse", "no clear difference"
UNTESTED = "not testable (too few seeds or no spread)"


def step_verdict(rows_larger, rows_smaller):
    """IMPROVED / WORSE when the paired CI of (larger − smaller) excludes 0, UNCLEAR when it
    includes 0, UNTESTED when there is no CI (fewer than 2 seeds, or no spread)."""
    found = statistics.compare(rows_larger, rows_smaller)
    if found.low is None:
        return UNTESTED
    if not found.called:
        return UNCLEAR
    return IMPROVED if found.diff > 0 else WORSE


def keeps_improving(rows, role):
    """One paragraph for variant ``role``: teacher by teacher, step by step, and the verdict."""
    students = [r for r in rows if r.get("role") == role]
    groups = findings.by_teacher(students)
    if not groups:
        return f"No student of variant '{role}' finished."
    name = variants.label(students[0])
    means = ", ".join(f"{t} {findings.stat(g).text()}" for t, g in groups.items())
    text = f"**{name}** (student test accuracy, smallest to largest teacher: {means})."
    teachers = list(groups)
    if len(teachers) < 2:
        return text + " One teacher only, so no trend can be read."
    steps, verdicts = [], []
    for smaller, larger in zip(teachers, teachers[1:]):
        a, b = f"students of {larger}", f"students of {smaller}"
        steps.append(findings.compared(groups[larger], a, groups[smaller], b))
        verdicts.append((smaller, larger, step_verdict(groups[larger], groups[smaller])))
    text += " Step by step: " + "; ".join(steps) + "."
    if all(v == IMPROVED for *_, v in verdicts):
        verdict = "the student kept improving with every step up in teacher size"
    else:
        stalls = [f"{s} → {big}: {v}" for s, big, v in verdicts if v != IMPROVED]
        verdict = "the student did not keep improving with teacher size (" + "; ".join(stalls)
        verdict += ")"
    largest, smallest = teachers[-1], teachers[0]
    overall = findings.compared(
        groups[largest], f"students of {largest}", groups[smallest], f"students of {smallest}"
    )
    text += f" Verdict: {verdict}. Largest against smallest teacher: {overall}."
    scratch = [r for r in rows if r.get("role") == "scratch"]
    if scratch:
        text += " Largest teacher against scratch: " + findings.compared(
            groups[largest], f"students of {largest}", scratch, "scratch"
        )
        text += "."
    return text


def against_vanilla(rows, examples):
    """At each teacher, every other method against vanilla KD (paired, test accuracy)."""
    vanilla = [e for e in examples if variants.kind(e) == variants.FULL_KD]
    if not vanilla:
        return []
    base_role = vanilla[0]["role"]
    sentences = []
    for teacher, group in findings.by_teacher(
        [r for r in rows if r.get("role") not in ("teacher", "scratch") and r.get("teacher")]
    ).items():
        base = [r for r in group if r["role"] == base_role]
        parts = [
            findings.compared(
                [r for r in group if r["role"] == e["role"]], variants.label(e), base, "full KD"
            )
            for e in examples
            if e["role"] != base_role and any(r["role"] == e["role"] for r in group)
        ]
        if base and parts:
            sentences.append(f"Teacher {teacher}, student test accuracy: {'; '.join(parts)}.")
    return sentences


def section(study, rows, examples):
    """(heading, body) or None when the study compares no KD method besides vanilla KD."""
    if not any(variants.kind(e) == variants.METHOD for e in examples):
        return None
    scratch = findings.stat([r for r in rows if r.get("role") == "scratch"])
    series = {}
    for example in examples:
        points = []
        groups = findings.by_teacher([r for r in rows if r.get("role") == example["role"]])
        for teacher, group in groups.items():
            params = tables.to_float(group[0].get("teacher_params"))
            points.append((teacher, params, findings.stat(group)))
        series[variants.label(example)] = points
    title = f"{study.student}: student accuracy vs teacher size, by KD method"
    path = figures.methods_ladder(study.directory, "methods_ladder", series, scratch, title)
    body = [
        "Does the student keep improving as the teacher grows? For each method, consecutive "
        "teachers (by size) are compared by paired differences over seeds (test split); a step "
        "counts as an improvement only when its 95% CI excludes zero.",
        "",
    ]
    body += [f"- {keeps_improving(rows, e['role'])}" for e in examples]
    body += ["", "Each method against vanilla KD, teacher by teacher:", ""]
    body += [f"- {s}" for s in against_vanilla(rows, examples)]
    body += ["", f"![{title}]({path})"]
    return "KD methods: does the student keep improving as the teacher grows?", "\n".join(body)
