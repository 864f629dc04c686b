"""Writing a file whole: the package's one writer, for the run folders, predictions
and exported models alike, TensorFlow-free so that every wing can use it."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path

PART_MARK = ".part-"
"""What the temporary name of a file being written contains (see ``atomic_write``)."""


def _part_name(path: Path) -> Path:
    """A hidden temporary name beside ``path``, with its suffix (Keras needs it)."""
    head, dot, rest = path.name.partition(".")
    return path.with_name(f".{head}{PART_MARK}{secrets.token_hex(4)}{dot}{rest}")


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Write ``path`` all at once: a kill at any moment leaves the old file or the
    new one, never half.

    ``write(tmp)`` fills a hidden file beside ``path``, then it is synced and renamed
    over ``path``. A full disk raises ``no_space_error``."""
    path = Path(path)
    part = _part_name(path)
    try:
        write(part)
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        os.replace(part, path)
    except BaseException as err:
        part.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise no_space_error(path) from err
        raise
    with contextlib.suppress(OSError):  # a folder cannot be opened on Windows
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def no_space_error(path: str | os.PathLike) -> OSError:
    """The package's one-line ``OSError`` (``ENOSPC``) for a full disk at ``path``."""
    return OSError(
        errno.ENOSPC,
        f"no space left on the device while writing {path}; free some space "
        "and run the same command again (a run resumes where it stopped)",
    )
