"""Output paths, checked before any work: only regular files are ever replaced."""

from __future__ import annotations

import os
import stat
import tempfile

from chainrule.cli.errors import CLIError

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def output_file(
    path: str,
    *,
    flag: str = "--out",
    default_name: str | None = None,
    replace: bool = True,
    inputs: tuple = (),
) -> str:
    """The file to write for ``flag``, after checking it can be written as a regular file.

    A path ending in ``/`` is a folder: the file is ``default_name`` inside it. An existing
    folder, FIFO, device or socket is refused; an existing regular file is refused unless
    ``replace``, and always when it is one of the command's ``inputs`` (the model or data
    file it reads: writing there would destroy it). The folders above it must be creatable.
    Errors name the user's path.
    """
    if path.endswith(("/", os.sep)):
        if default_name is None:
            raise CLIError(f"{flag} {path}: ends with '/', so it names a folder; give a file name")
        path = os.path.join(path, default_name)
    if os.path.lexists(path):
        try:
            mode = os.stat(path).st_mode
        except OSError as err:
            raise CLIError(f"{flag} {path}: cannot use it ({err.strerror or err})") from None
        if stat.S_ISDIR(mode):
            hint = f" such as {os.path.join(path, default_name)}" if default_name else ""
            raise CLIError(f"{flag} {path}: is a folder; give a file name{hint}")
        for test, kind in _KINDS:
            if test(mode):
                raise CLIError(
                    f"{flag} {path}: is {kind}, not a regular file; chainrule only replaces "
                    f"regular files"
                )
        for source in inputs:
            if source and os.path.exists(source) and os.path.samefile(path, source):
                raise CLIError(
                    f"{flag} {path}: is the input file {source} of this command; writing there "
                    f"would destroy it, so choose another {flag}"
                )
        if not replace:
            raise CLIError(
                f"{flag} {path}: already exists; add --overwrite to replace it, or choose "
                f"another {flag}"
            )
    _check_folder(os.path.dirname(os.path.abspath(path)), path, flag)
    return path


def make_parent(path: str) -> str:
    """Create the folders above ``path`` (checked by :func:`output_file`) just before it is
    written, so every command accepts ``--out new/folder/file`` as ``train`` does."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path


def output_folder(path: str, *, flag: str) -> str:
    """A folder to write files into: an existing one, or one that can be created."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise CLIError(f"{flag} {path}: is a file, not a folder")
    _check_folder(os.path.abspath(path), path, flag)
    return path


def _check_folder(folder: str, path: str, flag: str) -> None:
    existing = folder
    while not os.path.lexists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise CLIError(f"{flag} {path}: cannot create a folder there ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{flag} {path}: no permission to write in {existing}")
    # os.access says yes to root wherever the mode bits allow, yet /proc and other virtual
    # file systems refuse new files all the same: only creating one there proves it works.
    try:
        fd, probe = tempfile.mkstemp(prefix=".chainrule-probe-", dir=existing)
    except OSError as err:
        raise CLIError(
            f"{flag} {path}: cannot write in {existing} ({err.strerror or err}); choose "
            f"another {flag}"
        ) from None
    os.close(fd)
    os.unlink(probe)
