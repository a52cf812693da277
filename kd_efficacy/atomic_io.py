"""Crash-safe file writes: a reader never sees a torn file.

Whole files are written to a temporary sibling, flushed to disk and renamed over the target
(``os.replace`` is atomic on POSIX); logs grow by appending whole lines, each flushed and synced.
"""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def replacing(path, suffix=""):
    """Yields a temporary path beside ``path``; renames it over ``path`` if the block succeeds.

    ``suffix`` keeps a file-type ending that a writer insists on (Keras' ``.weights.h5``).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with replacing(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _json_line(obj):
    return json.dumps(obj, sort_keys=True, default=_jsonable) + "\n"


def rewrite_json_lines(path, rows):
    write_text(path, "".join(_json_line(row) for row in rows))


def append_json_line(path, obj):
    """Appends one whole JSON line; a crash can lose the line but never tear an earlier one."""
    line = _json_line(obj)
    with open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_json_lines(path):
    """The complete JSON lines of ``path`` (a torn last line from a crash is skipped)."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                rows.append(json.loads(line))
    return rows


def _jsonable(value):
    """numpy scalars and arrays as plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
