"""Reports of study kinds too costly to train in this suite, built from synthetic run directories.

The directories follow the run-directory contract (planned.json, result.json, metrics.jsonl),
so the report code reads them exactly as it reads real runs.
"""

import os

from kd_efficacy import atomic_io
from kd_efficacy.report import __main__ as report_main
from kd_efficacy.studies import summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(study, name, role, model, accuracy, teachers=(), dataset="digits", params=1e5, **more):
    """Writes one complete synthetic run; metrics rise linearly to ``accuracy`` over 3 epochs."""
    directory = os.path.join(study, "runs", name)
    recipe = {"dataset": dataset, "epochs": 3, "validation_fraction": 0.0}
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
    atomic_io.write_json(os.path.join(directory, summary.PLANNED_JSON), fields)
    rows = []
    for epoch in (1, 2, 3):
        row = {"epoch": epoch, "val_accuracy": accuracy * epoch / 3}
        row["train_eval_accuracy"] = min(1.0, row["val_accuracy"] + 0.02)
        if teachers:
            row.update(val_kd=1.0 / epoch, train_eval_kd=0.8 / epoch, val_agreement=0.9)
        rows.append(row)
        atomic_io.append_json_line(os.path.join(directory, "metrics.jsonl"), row)
    result = {
        "status": "complete",
        "config_hash": name,
        "model": {"name": model, "params": params},
        "test": {"accuracy": accuracy},
        "last": rows[-1],
        "best": rows[-1],
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
    for seed, shift in ((0, 0.0), (1, 0.01)):
        link = f"chain/s{seed}/1_net_m"
        acc = {"seed": seed}
        _run(study, link, "chain_1", "net_m", 0.95 + shift, teacher, **acc)
        _run(study, f"chain/s{seed}/2_net_s", "chain_2", "net_s", 0.91 + shift, [link], **acc)
        _run(study, f"direct/net_s_s{seed}", "direct", "net_s", 0.92 + shift, teacher, **acc)
        _run(study, f"scratch/net_s_s{seed}", "scratch", "net_s", 0.90 + shift, **acc)
    lines = [
        "group,seed,members,size,ensemble_accuracy,mean_member_accuracy,"
        "best_member_accuracy,disagreement"
    ]
    for seed in (0, 1):
        lines += [
            f"chain,{seed},net_m+net_s,2,0.95,0.93,0.95,0.04",
            f"independent,{seed},net_m+net_s,2,0.96,0.92,0.94,0.10",
            f"distilled,{seed},net_m+net_s,2,0.955,0.935,0.95,0.06",
        ]
    atomic_io.write_text(os.path.join(study, "ensembles.csv"), "\n".join(lines) + "\n")
    assert report_main.main([study, "--kind", "ensemble"]) == 0
    report = _read(os.path.join(study, "report.md"))
    for name in ("chain", "curves_chain", "ensembles"):
        assert _png(os.path.join(study, "figures", f"{name}.png")), name
        assert f"](figures/{name}.png)" in report
    assert "The chain net_l → net_m → net_s reached 0.915 ± 0.007, worse than direct KD" in report
    assert "Ensemble accuracy ranked independent (0.960 ± 0.000)" in report
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
    assert "| scratch | – | 30.24 | 30.00 | 1 |" in report
    assert "| full KD | imagenet_resnet50 | 30.95 | 31.20 | 1 |" in report
    assert "| ESKD (KD off after epoch 50) | imagenet_resnet34 | 29.16 | 29.50 | 1 |" in report
    assert "not comparable" not in report
    assert (
        "The best teacher for imagenet_resnet18 with full KD was imagenet_resnet34 (0.690), "
        "not the largest, imagenet_resnet50 (0.688)" in report
    )
    for name in ("capacity_gap_kd", "capacity_gap_eskd_50", "curves_kd", "kd_vs_eskd"):
        assert _png(os.path.join(study, "figures", f"{name}.png")), name
