"""Files written whole or not at all.

Every file the project writes goes to a temporary name in the destination's folder, is
flushed to disk, and is then renamed over the destination: a reader sees the old file
or the new one, never a half-written one, and a failure (a bad character, a full disk,
a kill mid-write) leaves the old file byte-identical.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class WriteError(OSError):
    """A file that could not be written; the message says which and why, in one line."""


def _folder(path: Path) -> Path:
    folder = path.parent
    if not folder.is_dir():
        raise WriteError(f"cannot write {path}: the folder {folder} does not exist")
    return folder


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` on success.

    The temporary file keeps ``path``'s suffix, so writers that choose the format by
    suffix (images, animations) work unchanged.  On any exception it is removed.
    """
    path = Path(path)
    folder = _folder(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=folder)
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, _mode(path))
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _mode(path: Path) -> int:
    """The destination's permissions if it exists, else the default for new files."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring)."""
    path = Path(path)
    try:
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {path}: {error.strerror or error}") from None


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` whole or not at all; an encoding error writes nothing."""
    write_bytes_atomic(path, text.encode(encoding))


__all__ = ["WriteError", "atomic_path", "write_bytes_atomic", "write_text_atomic"]
