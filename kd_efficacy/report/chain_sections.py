"""Report sections of the sequential-KD and ensemble studies: chains, direct KD, ensembles.

Each section is (heading, markdown body): a table, the sentences generated from its numbers
(``findings``) and the figures drawn from the same numbers (``figures``).
"""

import os

from kd_efficacy import run_dir
from kd_efficacy.report import figures, findings, histories, paper, summary, tables

HEADERS = {
    "test_accuracy": "test acc",
    "val_accuracy": "val acc",
    "test_kd": "test KD",
    "test_agreement": "test agreement",
}
ENSEMBLE_HEADERS = {
    "ensemble_accuracy": "ensemble test acc",
    "mean_member_accuracy": "mean member test acc",
    "best_member_accuracy": "best member test acc (picked on test)",
    "disagreement": "disagreement (test)",
}
CURVE_KEYS = ("train_eval_kd", "val_kd", "train_eval_accuracy", "val_accuracy")


def _chain_roles(rows):
    links = {r["role"] for r in rows if str(r["role"]).startswith("chain_")}
    return sorted(links, key=lambda role: int(role.split("_")[1]))


def _bar_label(role, model):
    if role == "teacher":
        return f"teacher\n{model}"
    if role.startswith("chain_"):
        return f"chain link {role.split('_')[1]}\n{model}"
    return f"{role.replace('_', ' ')}\n{model}"


def _chain(study, rows):
    by = ["role", "model", "teacher"]
    values = ["test_accuracy", "val_accuracy", "test_kd", "test_agreement"]
    order = ["teacher", *_chain_roles(rows), "direct", "ensemble_taught", "scratch"]
    rank = {role: i for i, role in enumerate(order)}
    table = sorted(tables.aggregate(rows, by, values), key=lambda e: rank.get(e["role"], 99))
    bars = {}
    for entry in table:
        members = [r for r in rows if r["role"] == entry["role"] and r["model"] == entry["model"]]
        if entry["role"] in rank:
            bars[_bar_label(entry["role"], entry["model"])] = {
                "test accuracy": findings.stat(members)
            }
    title = f"Sequential KD: chain links vs direct KD vs scratch ({study.student})"
    path = figures.intervals(study.directory, "chain", bars, title, ylabel="test accuracy")
    sentences = [findings.chain(rows)]
    taught = findings.ensemble_taught(rows)
    if taught:
        sentences.append(taught)
    body = [
        " ".join(sentences),
        "",
        tables.markdown(table, by, values, HEADERS),
        "",
        f"![{title}]({path})",
    ]
    return "Chain, direct and scratch", "\n".join(body)


def _curves(study, rows):
    order = [*_chain_roles(rows), "direct", "ensemble_taught", "scratch"]
    series = {}
    for role in order:
        members = [r for r in rows if r["role"] == role]
        if members:
            names = [r["run"] for r in members]
            label = _bar_label(role, members[0]["model"]).replace("\n", " ")
            series[label] = {k: histories.mean_curve(study.histories, names, k) for k in CURVE_KEYS}
    if not series:
        return None
    title = "KD loss and accuracy per epoch: mean over seeds"
    path = figures.training_curves(study.directory, "curves_chain", series, title)
    body = (
        "Each chain link's KD loss is measured against its own teacher (the previous link); "
        "direct KD's against the original teacher.\n\n"
        f"![{title}]({path})"
    )
    return "Mimicry over training", body


def _ensembles(study):
    path = os.path.join(study.directory, run_dir.ENSEMBLES_CSV)  # studies/ensemble.py
    if not os.path.exists(path):
        return None
    ensemble_rows = summary.read_csv(path)
    by = ["group", "members"]
    values = ["ensemble_accuracy", "mean_member_accuracy", "best_member_accuracy", "disagreement"]
    table = tables.aggregate(ensemble_rows, by, values)
    groups = {}
    for entry in table:
        members = [r for r in ensemble_rows if r["group"] == entry["group"]]
        groups[entry["group"]] = {
            "ensemble": findings.stat(members, "ensemble_accuracy"),
            "mean member": findings.stat(members, "mean_member_accuracy"),
            "best member": findings.stat(members, "best_member_accuracy"),
            "disagreement": findings.stat(members, "disagreement"),
        }
    title = "Ensembles of the chain's architectures: chained, independent, distilled"
    figure = figures.ensembles(study.directory, "ensembles", groups, title)
    body = [
        findings.ensembles(ensemble_rows),
        "",
        tables.markdown(table, by, values, ENSEMBLE_HEADERS),
        "",
        f"![{title}]({figure})",
    ]
    return "Ensembles", "\n".join(body)


def sections(study):
    rows = study.complete
    found = []
    if study.kind == "ensemble":
        found.append(_ensembles(study))
    found.append(_chain(study, rows))
    found.append(_curves(study, rows))
    found.append(
        ("Paper comparison", paper.not_tabulated(study.kind, study.dataset, study.student))
    )
    return [s for s in found if s is not None]
