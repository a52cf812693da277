"""Aggregate summary rows into mean ± std (n) tables and render them as Markdown."""

import math
import statistics


def to_float(value):
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def aggregate(rows, by, values):
    """Groups ``rows`` by the ``by`` columns (first-seen order); mean, std and n per value."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in by), []).append(row)
    table = []
    for key, members in groups.items():
        entry = dict(zip(by, key))
        entry["n"] = len(members)
        for column in values:
            numbers = [x for x in (to_float(r.get(column)) for r in members) if x is not None]
            entry[column] = statistics.fmean(numbers) if numbers else None
            entry[column + "_std"] = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
            entry[column + "_n"] = len(numbers)
        table.append(entry)
    return table


def fmt(value, digits=4):
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _params(count):
    return f"{count / 1e6:.2f}M"


def cell(entry, column, digits=4):
    mean = entry.get(column)
    if mean is None:
        return "–"
    if column.endswith("params"):  # a count, identical across seeds
        return _params(mean)
    std = entry.get(column + "_std")
    if entry.get(column + "_n", 1) > 1:
        return f"{mean:.{digits}f} ± {std:.{digits}f}"
    return fmt(mean, digits)


def markdown(table, by, values, headers=None):
    """A Markdown table: the ``by`` columns, each value as mean ± std, then n."""
    headers = headers or {}
    names = [headers.get(c, c) for c in (*by, *values)] + ["n"]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for entry in table:
        cells = [fmt(entry.get(c)) for c in by] + [cell(entry, c) for c in values]
        lines.append("| " + " | ".join(cells + [str(entry["n"])]) + " |")
    return "\n".join(lines)
