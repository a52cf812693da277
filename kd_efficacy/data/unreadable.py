"""Files of a dataset that cannot be read, and the one-line error that names them.

TensorFlow reports a corrupt image or a truncated TFRecord shard with an op error that names no
file, and in a streamed pipeline it surfaces only inside the iterator (mid-``fit``). So on such an
error the dataset is scanned again, file by file (``scan``), and the error becomes a ``DataError``
(exit 2: replace the file) or, when the OS itself refused the read (permission denied, EIO), a
``DataReadError`` (exit 74: fix the disk), both naming the first such file and pointing to
``python -m kd_efficacy.data.check``, which lists them all. An error the scan cannot pin on a file
is re-raised unchanged: it is not the data's.

The scan costs a decode of every file (minutes for ImageNet on many cores); it runs only once the
run has already stopped, or from the check command.
"""

import contextlib
import dataclasses

import tensorflow as tf

from kd_efficacy.errors import DataError, DataReadError

CHECK_COMMAND = "python -m kd_efficacy.data.check"
# Op errors a read or decode of data can raise; anything else (OOM, a cancelled step) never
# triggers a scan.
DATA_OP_ERRORS = (
    tf.errors.InvalidArgumentError,
    tf.errors.DataLossError,
    tf.errors.NotFoundError,
    tf.errors.PermissionDeniedError,
    tf.errors.UnknownError,
    tf.errors.FailedPreconditionError,
)

# Words in the message of an op error raised by an input pipeline (tf.data's iterator, a file read
# or an image decode), measured on TF 2.21's messages.
_INPUT_OP_MARKERS = ("IteratorGetNext", "DatasetToSingleElement", "ReadFile", "Decode", "record")


@dataclasses.dataclass(frozen=True)
class Unreadable:
    """One file (image or shard) that cannot be read; ``errno`` is set when the OS refused it."""

    path: str
    reason: str
    errno: int | None = None


def op_error_detail(error: tf.errors.OpError) -> str:
    """TF's own words for an op error, without the function-node prefix and the op suffix."""
    text = " ".join(str(error.message).split())
    text = text.split("}} ", 1)[-1]
    return text.split(" [Op:", 1)[0].strip() or type(error).__name__


def os_read_problem(path: str, whole: bool = True) -> Unreadable | None:
    """The OS error of reading ``path`` (all of it, or its first byte), if any."""
    try:
        with open(path, "rb") as f:
            f.read() if whole else f.read(1)
    except OSError as e:
        return Unreadable(path, e.strerror or type(e).__name__, e.errno)
    return None


def scan(name: str, data_dir: str | None = None) -> list[Unreadable]:
    """Every unreadable file of dataset ``name`` (as in gin), in file order."""
    # Imported here: the sources import this module for their errors.
    from kd_efficacy.data import digits, image_folder

    if name == digits.NAME:
        return []  # embedded in the package
    if name.startswith(image_folder.PREFIX):
        return image_folder.find_unreadable(name)
    from kd_efficacy.data import tfds_source

    return tfds_source.find_unreadable(name, data_dir)


def check_command(name: str, data_dir: str | None = None) -> str:
    flag = f" --data_dir={data_dir}" if data_dir else ""
    return f"{CHECK_COMMAND} '{name}'{flag}"


def error(name: str, data_dir: str | None, problems: list[Unreadable]) -> Exception:
    """The one-line error for ``problems`` (not empty): an OS refusal first, else a corrupt file."""
    first = next((p for p in problems if p.errno is not None), problems[0])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    listing = f"`{check_command(name, data_dir)}` lists every unreadable file"
    if first.errno is not None:
        return DataReadError(
            first.errno,
            f"could not read {first.path} ({first.reason}){more}; fix its permissions or the "
            f"disk, then rerun the same command: it resumes from the last checkpoint; {listing}",
            first.path,
        )
    return DataError(
        f"{name}: cannot decode {first.path} ({first.reason}){more}; replace or remove it, "
        f"then rerun; {listing}."
    )


@contextlib.contextmanager
def named(name: str, data_dir: str | None = None):
    """Turns a data op error raised inside into the error naming the file (see module doc)."""
    try:
        yield
    except DATA_OP_ERRORS as e:
        if not any(marker in str(e.message) for marker in _INPUT_OP_MARKERS):
            raise  # a model's error: no scan of the whole dataset before its traceback
        problems = scan(name, data_dir)
        if not problems:
            raise
        raise error(name, data_dir, problems) from e
