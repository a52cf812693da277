"""The paper's published numbers, and whether a study's setup matches them.

Source: Cho & Hariharan, "On the Efficacy of Knowledge Distillation", ICCV 2019, ImageNet
experiment (ResNet18 student, top-1 error in %). Only numbers we are sure of are held here; add
others only when transcribed from the paper itself.
"""

from kd_efficacy.report import statistics, tables, variants

CITATION = "Cho & Hariharan 2019 (ICCV), ImageNet, top-1 error %"
DATASET = "imagenet2012"
STUDENT = "imagenet_resnet18"
SCRATCH = 30.24
# (teacher, setting) -> top-1 error of the ResNet18 student.
DISTILLED = {
    ("imagenet_resnet34", variants.FULL_KD): 30.79,
    ("imagenet_resnet50", variants.FULL_KD): 30.95,
    ("imagenet_resnet34", variants.ESKD): 29.16,
    ("imagenet_resnet50", variants.ESKD): 29.35,
}
SETTING_NAMES = {variants.FULL_KD: "full KD", variants.ESKD: "ESKD"}


def matches(dataset, student):
    return dataset == DATASET and student == STUDENT


def _error(rows):
    """Our top-1 error (%) over seeds, as a ``statistics.Summary`` (test split)."""
    accuracies = [tables.to_float(r.get("test_accuracy")) for r in rows]
    return statistics.summarize([100.0 * (1.0 - a) for a in accuracies if a is not None])


def comparison(rows, dataset, student):
    """(markdown table or None, sentence): our top-1 error beside the paper's, or why not."""
    if not matches(dataset, student):
        return None, (
            f"This study runs on {dataset} with student {student}; the paper's tabulated numbers "
            f"are for {DATASET} with student {STUDENT} ({CITATION}), so they are not comparable "
            "and none are shown."
        )
    lines = [
        "| setting | teacher | paper top-1 error (%) | ours top-1 error (%), test split | n |",
        "|---|---|---|---|---|",
    ]
    ours = _error([r for r in rows if r.get("role") == "scratch"])
    lines.append(f"| scratch | – | {SCRATCH:.2f} | {_cell(ours)} | {ours.n if ours else 0} |")
    gaps = []
    if ours is not None:
        gaps.append(ours.mean - SCRATCH)
    for (teacher, setting), published in DISTILLED.items():
        chosen = [
            r
            for r in rows
            if r.get("teacher") == teacher
            and r.get("role") not in ("teacher", "scratch")
            and variants.kind(r) == setting
        ]
        ours = _error(chosen)
        name = SETTING_NAMES[setting]
        if setting == variants.ESKD and chosen:
            name += f" (KD off after epoch {variants.stop_epoch(chosen[0])})"
        n = ours.n if ours else 0
        lines.append(f"| {name} | {teacher} | {published:.2f} | {_cell(ours)} | {n} |")
        if ours is not None:
            gaps.append(ours.mean - published)
    if not gaps:
        sentence = (
            "The setup matches the paper's ImageNet experiment, but none of the matching runs "
            "has finished yet."
        )
    else:
        worst = max(gaps, key=abs)
        sentence = (
            f"The setup matches the paper's ImageNet experiment; across the {len(gaps)} settings "
            f"with results, our mean top-1 error (test split) differs from the paper's by at "
            f"most {abs(worst):.2f} points (positive means ours is worse: {worst:+.2f}); the "
            "table gives our 95% CIs, the paper reports none, so these gaps are not tested."
        )
    return "\n".join(lines), sentence


def _cell(found):
    if found is None:
        return "not run"
    return found.text(digits=2, with_n=False)


def not_tabulated(kind, dataset, student):
    """The sentence for study kinds the held numbers do not cover (sequential, ensemble)."""
    if not matches(dataset, student):
        return comparison([], dataset, student)[1]
    return (
        f"The paper's numbers held here ({CITATION}) are for full KD, ESKD and scratch; none are "
        f"held for a {kind} study, so there is nothing to place beside ours."
    )
