"""Aggregate summary rows per group (mean ± std, n, 95% CI) and render them as Markdown."""

import math

from kd_efficacy.report import statistics


def to_float(value):
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def aggregate(rows, by, values):
    """Groups ``rows`` by the ``by`` columns (first-seen order).

    Each entry holds the ``by`` values, ``n`` (rows in the group) and per value column its mean
    (``column``, None when no row has it), its ``statistics.Summary`` (``column_summary``) and
    whether every row had the same number (``column_constant``: a teacher's accuracy is one
    number shared by all its students' seeds, not a spread).
    """
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in by), []).append(row)
    table = []
    for key, members in groups.items():
        entry = dict(zip(by, key))
        entry["n"] = len(members)
        for column in values:
            numbers = [x for x in (to_float(r.get(column)) for r in members) if x is not None]
            found = statistics.summarize(numbers)
            entry[column] = found.mean if found else None
            entry[column + "_summary"] = found
            entry[column + "_constant"] = len(set(numbers)) == 1
        table.append(entry)
    return table


def fmt(value, digits=4):
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def params(count):
    """Trainable-parameter count as read: '2.7k', '0.27M'."""
    if count < 1e6:
        return f"{count / 1e3:.1f}k"
    return f"{count / 1e6:.2f}M"


def cell(entry, column, digits=statistics.DIGITS):
    """'0.916 ± 0.026 (CI 0.884–0.948)', with 'n=k; ' when fewer rows than the group have it."""
    found = entry.get(column + "_summary")
    if found is None:
        return "–"
    if column.endswith("params"):  # a count, identical across seeds
        return params(found.mean)
    if entry.get(column + "_constant"):  # one shared number (e.g. the teacher's accuracy)
        return f"{found.mean:.{digits}f}"
    return found.text(digits, with_n=found.n != entry.get("n"))


def markdown(table, by, values, headers=None):
    """A Markdown table: the ``by`` columns, each value as mean ± std (95% CI), then n."""
    headers = headers or {}
    names = [headers.get(c, c) for c in (*by, *values)] + ["n"]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for entry in table:
        cells = [fmt(entry.get(c)) for c in by] + [cell(entry, c) for c in values]
        lines.append("| " + " | ".join(cells + [str(entry["n"])]) + " |")
    return "\n".join(lines)
