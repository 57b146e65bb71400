"""Atomic file writes: a reader sees the old file or the new one, never a half-written mix.

Every file chainrule writes goes through :func:`atomic_write`: the bytes go to a temporary file
in the target's own folder (``.<name>.tmp-<pid>-<random>``), which is flushed and fsync'ed, then
``os.replace``'d over the target, then the folder itself is fsync'ed so the rename survives a
power cut. A crash at any moment leaves the target as it was; an exception (including a full
disk) also removes the temporary file. A process killed mid-write cannot clean up after itself,
so the next write to the same target removes temporary files whose writing process is gone
(:func:`clean_stale_temps`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _default_mode()


def _temp_prefix(name: str) -> str:
    return f".{name}.tmp-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (or cannot tell): leave its file alone
    return True


def clean_stale_temps(path: str | os.PathLike, *, all_processes: bool = False) -> list[str]:
    """Remove temporary files left by interrupted writes of ``path``; returns the removed paths.

    Only files named ``.<name>.tmp-<pid>-...`` whose process ``<pid>`` no longer runs are removed
    (a concurrent writer's file is left alone), unless ``all_processes`` is true.
    """
    path = os.fsdecode(os.fspath(path))
    folder, name = os.path.split(os.path.realpath(path))
    prefix = _temp_prefix(name)
    removed = []
    try:
        candidates = [f for f in os.listdir(folder) if f.startswith(prefix)]
    except OSError:
        return removed
    for entry in candidates:
        pid_text = entry[len(prefix) :].split("-", 1)[0]
        if not all_processes and pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        full = os.path.join(folder, entry)
        try:
            os.unlink(full)
            removed.append(full)
        except FileNotFoundError:
            pass
    return removed


def fsync_folder(folder: str) -> None:
    """Flush a folder's entries (a rename inside it) to disk, where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows, where folders cannot be opened; os.replace is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    path: str | os.PathLike,
    data: bytes | bytearray | memoryview | Callable[[BinaryIO], object],
) -> None:
    """Write ``path`` atomically, from bytes or from ``data(file)`` writing to a binary file.

    On success the complete new file is on disk under ``path``. On any exception the target is
    untouched and the temporary file removed; the exception propagates.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> atomic_write(target, b"hello")
        >>> open(target, "rb").read()
        b'hello'
    """
    path = os.fsdecode(os.fspath(path))  # a bytes path too, as open() takes it
    target = os.path.realpath(path)  # through symlinks: the link itself stays
    folder, name = os.path.split(target)
    if not name or os.path.isdir(target):
        raise IsADirectoryError(
            f"cannot write a file at {path!r}: it names a folder; give a file name "
            f"inside it, such as {os.path.join(path, 'model.safetensors')!r}"
        )
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"cannot write {path!r}: {folder!r} is a file, not a folder; choose another path"
        )
    if not os.path.isdir(folder):
        # mkstemp would name its temporary file in the error, not the folder that is missing
        raise FileNotFoundError(
            f"cannot write {path!r}: the folder {folder!r} does not exist; create "
            "it first (os.makedirs)"
        )
    clean_stale_temps(target)
    try:
        fd, temp = tempfile.mkstemp(prefix=f"{_temp_prefix(name)}{os.getpid()}-", dir=folder)
    except OSError as err:  # its message names the temporary file, not the user's path
        raise type(err)(
            err.errno,
            f"cannot write {path!r}: no new file can be made in the folder {folder!r} "
            f"({err.strerror}); choose a folder you can write to",
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            # a full disk or an I/O error says only "No space left on device": name the file
            # the user asked for, and that the one there is unchanged
            raise type(exc)(
                exc.errno,
                f"cannot write {path!r}: {exc.strerror}; the file there, if any, is left as it was",
            ) from exc
        raise
    fsync_folder(folder)
