"""Crash-safe file writes: a reader never sees a torn file.

Whole files are written to a temporary sibling, synced and renamed over the target (``os.replace``
is atomic on POSIX), then the directory is synced so the rename survives a power loss. Logs grow by
appending whole lines, each synced; a crash can tear only the last line, which readers skip and
the next append cuts off. So a SIGKILL (or SIGTERM, or a full disk) at any moment leaves every file
either at its previous version or at its new one, and at worst a stray ``.tmp-*`` file.
"""

import contextlib
import errno
import json
import os
import shutil
import tempfile

TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def replacing(path, suffix=""):
    """Yields a temporary path beside ``path``; renames it over ``path`` if the block succeeds.

    ``suffix`` keeps a file-type ending that a writer insists on (Keras' ``.weights.h5``).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_directory(directory)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def create_exclusive(path, text):
    """Creates ``path`` holding ``text`` unless it exists; True when this call created it.

    The text goes to a synced temporary sibling that is then hard-linked to ``path``: the link
    is atomic and exclusive, also over NFS, so of several racing callers exactly one succeeds and
    no reader sees a partial file. Where hard links are refused, ``O_EXCL`` creation does the
    same, except that a reader can briefly see the file empty.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as e:
            if os.stat(tmp).st_nlink == 2:
                return True  # NFS: the link was made but its reply was lost
            if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            return _create_with_o_excl(path, text)
        _sync_directory(directory)
        return True
    finally:
        os.remove(tmp)


def _create_with_o_excl(path, text):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return True


def _sync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (network mounts) refuse to sync a directory; the rename stands
    finally:
        os.close(fd)


def remove_stale_temps(directory):
    """Deletes ``.tmp-*`` files and directories (a checkpoint being written) a killed writer left
    in ``directory``; call it only where this process is the single writer (another writer's
    temporary file may be in use)."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not name.startswith(TEMP_PREFIX):
            continue
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


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
    line = _json_line(obj).encode()
    with open(path, "ab+") as f:
        _cut_torn_tail(f)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _cut_torn_tail(f):
    """Truncates a last line left without its newline by a crash, so appends start a fresh line."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    position = end
    while position > 0:
        start = max(0, position - 65536)
        f.seek(start)
        newline = f.read(position - start).rfind(b"\n")
        if newline >= 0:
            f.truncate(start + newline + 1)
            return
        position = start
    f.truncate(0)


def read_json(path):
    """The parsed JSON file ``path``, or None when it does not exist."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


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
