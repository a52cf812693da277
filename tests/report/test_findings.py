"""Generated sentences follow the numbers they are generated from (synthetic summary rows)."""

from kd_efficacy.report import findings, paper

PARAMS = {"resnet14": 175_000, "resnet32": 466_000, "resnet110": 1_730_000}


def _rows(accuracies, role="kd", student="resnet8", **fields):
    """Summary rows (as read from summary.csv: strings) from {teacher: [accuracy per seed]}."""
    rows = []
    for teacher, values in accuracies.items():
        for seed, accuracy in enumerate(values):
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
                    "teacher_accuracy": str(fields.get("teacher_accuracy", "")),
                    "train_kd": str(fields.get("kd", {}).get(teacher, "")),
                    "test_kd": str(fields.get("kd", {}).get(teacher, "")),
                }
            )
    return rows


def _scratch(values, student="resnet8"):
    return [
        {"run": f"scratch/{student}_s{i}", "role": "scratch", "model": student, "teacher": "",
         "seed": str(i), "status": "complete", "test_accuracy": str(v)}
        for i, v in enumerate(values)
    ]  # fmt: skip


def test_the_largest_teacher_loses():
    rows = _rows(
        {"resnet14": [0.958, 0.962, 0.966], "resnet110": [0.945, 0.951, 0.957]}
    ) + _scratch([0.93, 0.94, 0.95])
    sentence = findings.capacity_gap(rows, "kd")
    assert sentence.startswith(
        "The best teacher for resnet8 with full KD was resnet14 (0.962 ± 0.004), "
        "not the largest, resnet110 (0.951 ± 0.006)"
    )
    assert "more than one standard deviation" in sentence
    assert "KD from resnet14 reached 0.962 ± 0.004, better than resnet8 from scratch" in sentence


def test_the_largest_teacher_wins():
    rows = _rows(
        {"resnet14": [0.950, 0.952], "resnet32": [0.951, 0.955], "resnet110": [0.96, 0.97]}
    )
    sentence = findings.capacity_gap(rows, "kd")
    assert sentence.startswith(
        "The best teacher for resnet8 with full KD was the largest, resnet110 (0.965 ± 0.007)"
    )
    assert "the runner-up, resnet32 (0.953 ± 0.003)" in sentence
    assert "not the largest" not in sentence


def test_small_gaps_are_called_within_one_std_and_single_seeds_have_no_spread():
    close = _rows({"resnet14": [0.90, 0.96], "resnet110": [0.91, 0.94]})
    assert "within one standard deviation, so not a clear difference" in findings.capacity_gap(
        close, "kd"
    )
    single = _rows({"resnet14": [0.96], "resnet110": [0.95]})
    assert "with one seed each" in findings.capacity_gap(single, "kd")
    assert "cannot say" in findings.capacity_gap(_rows({"resnet14": [0.9]}), "kd")


def test_mimicry_eskd_and_early_teacher_sentences():
    kd = _rows(
        {"resnet14": [0.95, 0.95], "resnet110": [0.94, 0.94]},
        kd={"resnet14": 0.2, "resnet110": 0.9},
    )
    text = findings.mimicry(kd, "kd")
    assert "lowest with resnet14" in text and "highest with resnet110" in text
    assert "the largest teacher, resnet110, was the hardest to mimic" in text
    eskd = _rows(
        {"resnet14": [0.97, 0.971], "resnet110": [0.90, 0.91]}, "eskd_8", stop_kd_epoch="8"
    )
    rows = kd + eskd + _scratch([0.93, 0.93])
    sentences = findings.eskd(rows)
    assert sentences[0].startswith(
        "ESKD from resnet14 (KD off after epoch 8) reached 0.970 ± 0.001"
    )
    assert "better than full KD from resnet14 at 0.950" in sentences[0]
    assert "worse than full KD from resnet110" in sentences[1]
    early = _rows({"resnet14": [0.96, 0.96]}, "early", teacher_epoch="5", teacher_accuracy=0.80)
    text = findings.early_teacher(kd + early)[0]
    assert text.startswith("The student of resnet14's epoch-5 snapshot (teacher test acc 0.800)")
    assert "better than the student of the final resnet14" in text


def test_chain_and_ensemble_sentences():
    rows = [
        {"role": "teacher", "model": "resnet56", "test_accuracy": "0.97"},
        {"role": "chain_1", "model": "resnet20", "test_accuracy": "0.95"},
        {"role": "chain_2", "model": "resnet8", "test_accuracy": "0.90"},
        {"role": "direct", "model": "resnet8", "test_accuracy": "0.92"},
        {"role": "scratch", "model": "resnet8", "test_accuracy": "0.90"},
    ]
    text = findings.chain(rows)
    assert text.startswith("The chain resnet56 → resnet20 → resnet8 reached 0.900, worse than")
    assert "the same as scratch at 0.900" in text
    ensembles = [
        {"group": g, "ensemble_accuracy": str(a), "best_member_accuracy": str(b),
         "disagreement": str(d)}
        for g, a, b, d in (("chain", 0.93, 0.92, 0.05), ("independent", 0.95, 0.92, 0.12))
    ]  # fmt: skip
    text = findings.ensembles(ensembles)
    assert text.startswith("Ensemble accuracy ranked independent (0.950), then chain (0.930)")
    assert "disagreed most in the independent ensemble (0.120" in text


def test_paper_numbers_sit_beside_ours_only_for_the_papers_setup():
    rows = (
        _scratch([0.70, 0.69], "imagenet_resnet18")
        + _rows({"imagenet_resnet34": [0.69]}, student="imagenet_resnet18")
        + _rows({"imagenet_resnet50": [0.71]}, "eskd_50", "imagenet_resnet18", stop_kd_epoch="50")
    )
    table, sentence = paper.comparison(rows, "imagenet2012", "imagenet_resnet18")
    assert "| scratch | – | 30.24 | 30.50 ± 0.71 | 2 |" in table
    assert "| full KD | imagenet_resnet34 | 30.79 | 31.00 | 1 |" in table
    assert "| ESKD (KD off after epoch 50) | imagenet_resnet50 | 29.35 | 29.00 | 1 |" in table
    assert "| ESKD | imagenet_resnet34 | 29.16 | not run | 0 |" in table
    assert "matches the paper's ImageNet experiment" in sentence
    table, sentence = paper.comparison(_scratch([0.9]), "digits", "resnet8")
    assert table is None
    assert sentence.startswith("This study runs on digits with student resnet8")
    assert "not comparable" in sentence
