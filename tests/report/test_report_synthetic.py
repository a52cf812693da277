"""Reports of study kinds too costly to train in this suite, built from synthetic run directories.

The directories follow the run-directory contract (planned.json, result.json, metrics.jsonl),
so the report code reads them exactly as it reads real runs.
"""

import os

import pytest

from kd_efficacy import atomic_io, run_dir
from kd_efficacy.report import __main__ as report_main
from kd_efficacy.report import figures, statistics, summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(study, name, role, model, accuracy, teachers=(), dataset="digits", params=1e5, **more):
    """Writes one complete synthetic run; metrics rise linearly to ``accuracy`` over 3 epochs.

    The validation split sits 0.01 above the test split; ``teacher_acc`` (val, test) is the
    teacher snapshot's accuracy a student records.
    """
    directory = os.path.join(study, "runs", name)
    recipe = {"dataset": dataset, "epochs": 3, "validation_fraction": 0.2}
    fields = {
        "name": name,
        "role": role,
        "model": model,
        "seed": more.get("seed", 0),
        "teachers": list(teachers),
        "teacher_epoch": more.get("teacher_epoch", "last"),
        "stop_kd_epoch": more.get("stop_kd_epoch"),
        "recipe": recipe,
    }
    atomic_io.write_json(os.path.join(directory, run_dir.PLANNED_JSON), fields)
    rows = []
    for epoch in (1, 2, 3):
        row = {"epoch": epoch, "train_eval_accuracy": min(1.0, accuracy * epoch / 3 + 0.03)}
        kd = more.get("kd", 1.0)
        if teachers:
            row.update(train_eval_kd=0.8 * kd / epoch)
        if epoch != 2 or not more.get("thin"):  # a thinned eval schedule skips epoch 2
            row["val_accuracy"] = (accuracy + 0.01) * epoch / 3
            if teachers:
                row.update(val_kd=kd / epoch, val_agreement=0.9)
        rows.append(row)
        atomic_io.append_json_line(os.path.join(directory, "metrics.jsonl"), row)
    teacher_val, teacher_test = more.get("teacher_acc", (None, None)) if teachers else (None, None)
    test = {"accuracy": accuracy}
    if teachers:
        test.update(kd=1.1 * more.get("kd", 1.0) / 3, agreement=0.89)
    result = {
        "status": "complete",
        "config_hash": name,
        "model": {"name": model, "params": params},
        "splits": {"train": 1150, "validation": 287, "test": 360},
        "test": test,
        "last": rows[-1],
        "best": dict(rows[-1], epoch=3),
        "teacher_val_accuracy": teacher_val,
        "teacher_test_accuracy": teacher_test,
        "train_seconds": 60.0,
        "session_seconds": 75.0,
        "hardware": {"devices": "1 GPU(s): NVIDIA H200", "tensorflow": "2.21.0", "platform": "x"},
    }
    atomic_io.write_json(os.path.join(directory, "result.json"), result)


def _png(path):
    with open(path, "rb") as f:
        data = f.read()
    return data[:8] == PNG_MAGIC and len(data) > 10_000


def _read(path):
    with open(path) as f:
        return f.read()


def test_ensemble_study_report_has_chain_and_ensemble_figures(tmp_path):
    study = str(tmp_path / "ens")
    teacher = ["teacher/net_l_s0"]
    _run(study, teacher[0], "teacher", "net_l", 0.97, params=2e6)
    # Seed luck (shift) is shared by a seed's runs; direct KD is 0.02 ahead of the chain's end
    # in every seed but one, so the paired gap is clear while the groups overlap.
    for seed, shift, ahead in ((0, 0.0, 0.02), (1, 0.01, 0.021), (2, -0.01, 0.018)):
        link = f"chain/s{seed}/1_net_m"
        acc = {"seed": seed}
        _run(study, link, "chain_1", "net_m", 0.95 + shift, teacher, **acc)
        _run(study, f"chain/s{seed}/2_net_s", "chain_2", "net_s", 0.91 + shift, [link], **acc)
        _run(
            study, f"direct/net_s_s{seed}", "direct", "net_s", 0.91 + shift + ahead, teacher, **acc
        )
        _run(study, f"scratch/net_s_s{seed}", "scratch", "net_s", 0.90 + 2 * shift, **acc)
    lines = [
        "group,seed,members,size,ensemble_accuracy,mean_member_accuracy,"
        "best_member_accuracy,disagreement"
    ]
    for seed, d in ((0, 0.0), (1, 0.004), (2, -0.003)):
        lines += [
            f"chain,{seed},net_m+net_s,2,{0.95 + d},0.93,{0.95 + 2 * d},0.04",
            f"independent,{seed},net_m+net_s,2,{0.96 + d},0.92,{0.94 + d / 2},{0.10 + d}",
            f"distilled,{seed},net_m+net_s,2,0.955,0.935,{0.95 + d},0.06",
        ]
    atomic_io.write_text(os.path.join(study, "ensembles.csv"), "\n".join(lines) + "\n")
    assert report_main.main([study, "--kind", "ensemble"]) == 0
    report = _read(os.path.join(study, "report.md"))
    for name in ("chain", "curves_chain", "ensembles"):
        assert _png(os.path.join(study, "figures", f"{name}.png")), name
        assert f"](figures/{name}.png)" in report
    assert (
        "Student test accuracy: direct KD from the teacher beat the chain net_l → net_m → net_s "
        "by 0.020 (95% CI 0.016 to 0.023; paired, n = 3, p = 0.002); no clear difference between "
        "the chain net_l → net_m → net_s and scratch (+0.010, 95% CI " in report
    )
    assert "Ensemble test accuracy ranked independent at 0.960 ± 0.004 (n=3; CI" in report
    assert "independent: the ensemble beat its best member by 0.020 (95% CI" in report
    assert "chain: no clear difference between the ensemble and its best member" in report
    assert "| ensemble test acc | mean member test acc | best member test acc (picked on test)" in (
        report
    )
    assert "| chain_2 | net_s | net_m | 0.910 ± 0.010 (CI 0.885–0.935) |" in report
    assert "Splits: train 1150, validation 287, test 360 examples (13 runs)" in report
    assert "1 GPU(s): NVIDIA H200" in report and "No `config.gin`" in report
    assert "not comparable" in report  # digits, not the paper's ImageNet setup


def test_imagenet_grid_report_places_the_papers_numbers_beside_ours(tmp_path):
    study = str(tmp_path / "imagenet")
    common = {"dataset": "imagenet2012"}
    student = "imagenet_resnet18"
    ladder = (("imagenet_resnet34", 0.73, 2.2e7, 0.69), ("imagenet_resnet50", 0.76, 2.6e7, 0.688))
    for teacher, accuracy, params, kd_accuracy in ladder:
        ref = [f"teacher/{teacher}_s0"]
        _run(study, ref[0], "teacher", teacher, accuracy, params=params, **common)
        _run(study, f"kd/{teacher}/{student}_s0", "kd", student, kd_accuracy, ref, **common)
        eskd = f"eskd_50/{teacher}/{student}_s0"
        _run(study, eskd, "eskd_50", student, 0.705, ref, stop_kd_epoch=50, **common)
    _run(study, f"scratch/{student}_s0", "scratch", student, 0.70, **common)
    assert report_main.main([study, "--kind", "early_stopping"]) == 0
    report = _read(os.path.join(study, "report.md"))
    assert "| scratch | – | 30.24 | 30.00 (n=1, no CI) | 1 |" in report
    assert "| full KD | imagenet_resnet50 | 30.95 | 31.20 (n=1, no CI) | 1 |" in report
    assert (
        "| ESKD (KD off after epoch 50) | imagenet_resnet34 | 29.16 | 29.50 (n=1, no CI) | 1 |"
        in (report)
    )
    assert "not comparable" not in report
    assert (
        "With full KD, the students of imagenet_resnet18 with the highest mean validation "
        "accuracy (0.700) were those of imagenet_resnet34, not the largest teacher, "
        "imagenet_resnet50." in report
    )
    assert "not enough data to test students of imagenet_resnet34 against students of" in report
    for name in ("capacity_gap_kd", "capacity_gap_eskd_50", "curves_kd", "kd_vs_eskd"):
        assert _png(os.path.join(study, "figures", f"{name}.png")), name


COLUMNS = (
    "run,role,model,params,teacher,teacher_params,teacher_epoch,teacher_val_accuracy,"
    "teacher_test_accuracy,stop_kd_epoch,kd_method,seed,status,test_accuracy,val_accuracy,best_epoch,"
    "best_val_accuracy,train_kd,val_kd,test_kd,test_agreement,train_seconds,reason"
)


def test_grid_report_states_splits_cis_and_paired_comparisons(tmp_path):
    study = str(tmp_path / "gap")
    student = "net_s"
    # (teacher, trainable params, own test accuracy, KD student accuracy before seed luck)
    ladder = (("net_m", 2e5, 0.98, 0.95, 0.003), ("net_l", 9e5, 0.97, 0.92, -0.002))
    luck = (0.0, 0.012, -0.008)  # shared by a seed's students: pairing cancels it
    for teacher, params, accuracy, kd, jitter in ladder:
        ref = [f"teacher/{teacher}_s0"]
        _run(study, ref[0], "teacher", teacher, accuracy, params=params, thin=True)
        for seed, shift in enumerate(luck):
            shift += jitter * (seed - 1) ** 2  # a teacher's students differ, not only by seed
            kd_loss = params / 2e5 * (1 + 0.1 * seed)  # the larger teacher is harder to mimic
            common = {"seed": seed, "teacher_acc": (accuracy + 0.01, accuracy), "kd": kd_loss}
            _run(study, f"kd/{teacher}/{student}_s{seed}", "kd", student, kd + shift, ref, **common)
            eskd = f"eskd_2/{teacher}/{student}_s{seed}"
            _run(study, eskd, "eskd_2", student, kd + 0.01 + shift * 1.1, ref, stop_kd_epoch=2,
                 **common)  # fmt: skip
            early = dict(common, teacher_acc=(0.8, 0.79), teacher_epoch=1, thin=True)
            _run(study, f"early/{teacher}/{student}_s{seed}", "early_1", student, kd + shift, ref,
                 **early)  # fmt: skip
    for seed, shift in enumerate(luck):
        _run(study, f"scratch/{student}_s{seed}", "scratch", student, 0.93 + shift, seed=seed)
    assert report_main.main([study, "--kind", "capacity_gap"]) == 0
    report = _read(os.path.join(study, "report.md"))

    assert _read(os.path.join(study, "summary.csv")).splitlines()[0] == COLUMNS
    rows = {r["run"]: r for r in summary.read_csv(os.path.join(study, "summary.csv"))}
    early = rows["early/net_l/net_s_s1"]
    # The snapshot's validation accuracy is the teacher's own epoch-1 row; test from the student.
    assert float(early["teacher_val_accuracy"]) == pytest.approx(0.98 / 3)
    assert float(early["teacher_test_accuracy"]) == pytest.approx(0.79)
    assert float(early["val_kd"]) == pytest.approx(4.95 / 3) and early["best_epoch"] == "3"
    assert float(rows["kd/net_m/net_s_s0"]["teacher_val_accuracy"]) == pytest.approx(0.99)
    assert float(rows["kd/net_m/net_s_s0"]["test_kd"]) == pytest.approx(1.1 / 3)
    assert float(rows["kd/net_m/net_s_s0"]["train_kd"]) == pytest.approx(0.8 / 3)
    assert rows["teacher/net_l_s0"]["teacher_val_accuracy"] == ""
    assert rows["teacher/net_l_s0"]["params"] == "900000.0"

    assert "| teacher | teacher trainable params | teacher test acc | full KD |" in report
    assert "| net_m | 200.0k | 0.980 | 0.953 ± 0.009 (n=3; CI 0.932–0.974) |" in report
    for header in ("teacher val acc", "teacher test acc", "validation KD", "test KD"):
        assert f"| {header} |" in report, header
    assert "| trainable params |" in report
    assert (
        "With full KD, the students of net_s with the highest mean validation accuracy "
        "(0.963 ± 0.009) were those of net_m, not the largest teacher, net_l." in report
    )
    assert "Test accuracy: students of net_m beat students of net_l by 0.033 (95% CI" in report
    assert "net_s from scratch beat students of net_l by 0.011 (95% CI 0.008 to 0.014;" in report
    assert (
        "students of net_l had a higher KD loss than students of net_m by 1.412 (95% CI 1.093 to "
        "1.730;" in report
    )
    assert "the largest teacher, net_l, had the highest mean KD loss on the training set" in report
    assert (
        "Teacher net_m, student test accuracy: ESKD (KD off after epoch 2) beat full KD by 0.010 "
        "(95% CI" in report
    )
    assert "students of the epoch-1 snapshot (teacher acc val 0.327, test 0.790)" in report
    assert "within one standard deviation" not in report and "test set unless" not in report
    assert "Splits: train 1150, validation 287, test 360 examples (23 runs)" in report
    for name in ("capacity_gap_kd", "curves_kd", "kd_vs_eskd", "teacher_epoch"):
        assert _png(os.path.join(study, "figures", f"{name}.png")), name


def test_figure_whiskers_are_the_95_percent_ci_not_the_std():
    found = statistics.summarize([0.90, 0.92, 0.95])
    below, above = figures._whiskers([found, statistics.summarize([0.9])])
    assert below[0] == pytest.approx(found.mean - found.low) and below[0] > 2 * found.std
    assert above[0] == pytest.approx(found.high - found.mean)
    assert below[1] == above[1] == 0.0  # one seed: no CI, no whisker
