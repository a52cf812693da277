"""Generated sentences follow the numbers they are generated from (synthetic summary rows)."""

from kd_efficacy.report import findings, paper

PARAMS = {"resnet14": 175_000, "resnet32": 466_000, "resnet110": 1_730_000}


def _rows(accuracies, role="kd", student="resnet8", val=None, **fields):
    """Summary rows (as read from summary.csv: strings) from {teacher: [accuracy per seed]}.

    ``val``: {teacher: [validation accuracy per seed]}; by default the test accuracy.
    """
    rows = []
    for teacher, values in accuracies.items():
        for seed, accuracy in enumerate(values):
            val_accuracy = (val or {}).get(teacher, values)[seed]
            rows.append(
                {
                    "run": f"{role}/{teacher}/{student}_s{seed}",
                    "role": role,
                    "model": student,
                    "teacher": teacher,
                    "teacher_params": str(PARAMS.get(teacher, 100_000)),
                    "teacher_epoch": fields.get("teacher_epoch", "last"),
                    "stop_kd_epoch": fields.get("stop_kd_epoch", ""),
                    "seed": str(seed),
                    "status": "complete",
                    "test_accuracy": str(accuracy),
                    "val_accuracy": str(val_accuracy),
                    "teacher_val_accuracy": str(fields.get("teacher_val_accuracy", "")),
                    "teacher_test_accuracy": str(fields.get("teacher_test_accuracy", "")),
                    "train_kd": str(fields.get("kd", {}).get(teacher, [""] * 9)[seed]),
                    "val_kd": str(fields.get("kd", {}).get(teacher, [""] * 9)[seed]),
                    "test_kd": str(fields.get("kd", {}).get(teacher, [""] * 9)[seed]),
                }
            )
    return rows


def _scratch(values, student="resnet8"):
    return [
        {"run": f"scratch/{student}_s{i}", "role": "scratch", "model": student, "teacher": "",
         "seed": str(i), "status": "complete", "test_accuracy": str(v), "val_accuracy": str(v)}
        for i, v in enumerate(values)
    ]  # fmt: skip


def test_the_largest_teacher_loses_and_every_gap_has_a_ci_and_p():
    rows = _rows(
        {"resnet14": [0.958, 0.962, 0.966], "resnet110": [0.945, 0.951, 0.957]}
    ) + _scratch([0.93, 0.94, 0.95])
    sentence = findings.capacity_gap(rows, "kd")
    assert sentence.startswith(
        "With full KD, the students of resnet8 with the highest mean validation accuracy "
        "(0.962 ± 0.004) were those of resnet14, not the largest teacher, resnet110."
    )
    # Per seed, resnet14's students are 0.013 / 0.011 / 0.009 ahead: paired, a clear difference.
    assert "Test accuracy: students of resnet14 beat students of resnet110 by 0.011 (95% CI" in (
        sentence
    )
    assert "; paired, n = 3, p = " in sentence
    assert "students of resnet14 beat resnet8 from scratch by 0.022 (95% CI" in sentence
    assert sentence.count("95% CI") == 4  # validation, test, and two against scratch


def test_the_best_teacher_is_picked_on_the_validation_split_not_the_test_split():
    # resnet110's students are best on test, resnet14's on validation: the pick follows validation.
    rows = _rows(
        {"resnet14": [0.95, 0.952], "resnet110": [0.96, 0.97]},
        val={"resnet14": [0.99, 0.991], "resnet110": [0.90, 0.91]},
    )
    sentence = findings.capacity_gap(rows, "kd")
    assert "were those of resnet14, not the largest teacher, resnet110" in sentence
    assert "Test accuracy: students of resnet110 beat students of resnet14" in sentence or (
        "Test accuracy: no clear difference between students of resnet14" in sentence
    )


def test_the_largest_teacher_wins():
    rows = _rows(
        {"resnet14": [0.950, 0.952], "resnet32": [0.951, 0.955], "resnet110": [0.96, 0.97]}
    )
    sentence = findings.capacity_gap(rows, "kd")
    assert sentence.startswith(
        "With full KD, the students of resnet8 with the highest mean validation accuracy "
        "(0.965 ± 0.007) were those of the largest teacher, resnet110; the runner-up was resnet32."
    )
    assert "not the largest" not in sentence


def test_overlapping_groups_are_not_called_and_single_seeds_are_not_tested():
    close = _rows({"resnet14": [0.90, 0.96, 0.93], "resnet110": [0.91, 0.94, 0.935]})
    text = findings.capacity_gap(close, "kd")
    assert "Test accuracy: no clear difference between students of resnet14 and students of " in (
        text
    )
    assert "beat" not in text
    single = findings.capacity_gap(_rows({"resnet14": [0.96], "resnet110": [0.95]}), "kd")
    assert "not enough data to test students of resnet14 against students of resnet110" in single
    assert "beat" not in single
    assert "cannot say" in findings.capacity_gap(_rows({"resnet14": [0.9]}), "kd")


def test_mimicry_eskd_and_early_teacher_sentences():
    kd = _rows(
        {"resnet14": [0.95, 0.951, 0.953], "resnet110": [0.94, 0.942, 0.941]},
        kd={"resnet14": [0.2, 0.25, 0.22], "resnet110": [0.9, 0.85, 0.95]},
    )
    text = findings.mimicry(kd, "kd")
    assert "on the validation split it was lowest with resnet14" in text
    assert (
        "highest with resnet110 (0.900 ± 0.050): on the test split, students of resnet110 had a "
        "higher KD loss than students of resnet14 by 0.677 (95% CI" in text
    )
    assert "the largest teacher, resnet110, had the highest mean KD loss on the training" in text
    # Rankings never read the test split: a test-only KD gap that validation does not show
    # is stated for the pair validation picked, not used to pick one.
    flipped = [dict(r, test_kd=str(5.0 - float(r["test_kd"]))) for r in kd]
    text = findings.mimicry(flipped, "kd")
    assert "on the validation split it was lowest with resnet14" in text
    assert "on the test split, students of resnet14 had a higher KD loss than students of" in text
    eskd = _rows(
        {"resnet14": [0.97, 0.972, 0.973], "resnet110": [0.90, 0.91, 0.905]},
        "eskd_8",
        stop_kd_epoch="8",
    )
    rows = kd + eskd + _scratch([0.93, 0.931, 0.932])
    sentences = findings.eskd(rows)
    assert sentences[0].startswith(
        "Teacher resnet14, student test accuracy: ESKD (KD off after epoch 8) beat full KD by "
        "0.020 (95% CI"
    )
    assert sentences[1].startswith(
        "Teacher resnet110, student test accuracy: full KD beat ESKD (KD off after epoch 8) by"
    )
    early = _rows(
        {"resnet14": [0.96, 0.962, 0.961]},
        "early",
        teacher_epoch="5",
        teacher_val_accuracy=0.81,
        teacher_test_accuracy=0.80,
    )
    text = findings.early_teacher(kd + early)[0]
    assert text.startswith(
        "Teacher resnet14, student test accuracy: students of the epoch-5 snapshot (teacher acc "
        "val 0.810, test 0.800) beat students of the final teacher"
    )


def test_teachers_with_one_run_each_are_ranked_but_not_tested():
    rows = [
        {
            "role": "teacher",
            "model": m,
            "params": str(p),
            "seed": "0",
            "test_accuracy": str(a),
            "val_accuracy": str(a + 0.001),
        }
        for m, p, a in (
            ("resnet14", 1e4, 0.98),
            ("resnet32", 2e5, 0.989),
            ("resnet110", 8e5, 0.975),
        )
    ]
    text = findings.teachers(rows)
    assert text.startswith(
        "Teacher accuracy on the validation split did not rise with every step in size: it "
        "ranged from resnet110 at 0.976 to resnet32 at 0.990 (test split: 0.975 and 0.989); one "
        "run per teacher, so no CI; the largest teacher is resnet110."
    )
    assert "size and teacher accuracy are confounded" in text
    # The ladder check reads validation: a test-only dip does not break a rising ladder.
    rows[2]["val_accuracy"], rows[2]["test_accuracy"] = "0.995", "0.97"
    text = findings.teachers(rows)
    assert "validation split rose with every step in size" in text
    assert "confounded" not in text


def test_chain_and_ensemble_sentences():
    def role(name, model, values):
        return [
            {"role": name, "model": model, "seed": str(s), "test_accuracy": str(v)}
            for s, v in enumerate(values)
        ]

    rows = (
        role("teacher", "resnet56", [0.97])
        + role("chain_1", "resnet20", [0.95, 0.951, 0.952])
        + role("chain_2", "resnet8", [0.90, 0.91, 0.905])
        + role("direct", "resnet8", [0.92, 0.935, 0.926])
        + role("scratch", "resnet8", [0.90, 0.92, 0.89])
    )
    text = findings.chain(rows)
    assert text.startswith(
        "Student test accuracy: direct KD from the teacher beat the chain resnet56 → resnet20 → "
        "resnet8 by 0.022 (95% CI 0.015 to 0.029; paired, n = 3, p = 0.005)"
    )
    assert "no clear difference between the chain resnet56 → resnet20 → resnet8 and scratch" in text
    ensembles = [
        {"group": g, "seed": str(s), "ensemble_accuracy": str(a + 0.001 * s),
         "best_member_accuracy": str(b), "disagreement": str(d + 0.002 * s)}
        for s in (0, 1, 2)
        for g, a, b, d in (("chain", 0.93, 0.92, 0.05), ("independent", 0.95, 0.96, 0.12))
    ]  # fmt: skip
    text = findings.ensembles(ensembles)
    assert text.startswith("Ensemble test accuracy ranked independent at 0.951 ± 0.001 (n=3; CI")
    assert "chain: the ensemble beat its best member by 0.011 (95% CI" in text
    assert "independent: its best member beat the ensemble by 0.009 (95% CI" in text
    assert "picked on the validation split" in text
    assert "Members disagreed on a fraction of test images of 0.052 ± 0.002 (n=3; CI" in text
    assert (
        "Disagreement: members of the independent ensemble disagreed more often than members of "
        "the chain ensemble by 0.070" in text
    ) or "Disagreement: no test of members of the chain ensemble" in text


def test_paper_numbers_sit_beside_ours_only_for_the_papers_setup():
    rows = (
        _scratch([0.70, 0.69], "imagenet_resnet18")
        + _rows({"imagenet_resnet34": [0.69]}, student="imagenet_resnet18")
        + _rows({"imagenet_resnet50": [0.71]}, "eskd_50", "imagenet_resnet18", stop_kd_epoch="50")
    )
    table, sentence = paper.comparison(rows, "imagenet2012", "imagenet_resnet18")
    assert "| scratch | – | 30.24 | 30.50 ± 0.71 (CI 24.15–36.85) | 2 |" in table
    assert "| full KD | imagenet_resnet34 | 30.79 | 31.00 (n=1, no CI) | 1 |" in table
    assert (
        "| ESKD (KD off after epoch 50) | imagenet_resnet50 | 29.35 | 29.00 (n=1, no CI) | 1 |"
        in (table)
    )
    assert "| ESKD | imagenet_resnet34 | 29.16 | not run | 0 |" in table
    assert "matches the paper's ImageNet experiment" in sentence
    table, sentence = paper.comparison(_scratch([0.9]), "digits", "resnet8")
    assert table is None
    assert sentence.startswith("This study runs on digits with student resnet8")
    assert "not comparable" in sentence
