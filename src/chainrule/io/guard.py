"""The gate every chainrule file reader goes through: regular files only, sized before read.

A reader calls :func:`check_file` (or :func:`open_file` / :func:`read_file`, which also open
the file without ever blocking) before it reads a byte. Refused, each within milliseconds and
before any memory is allocated for the contents:

- anything that is not a regular file: a folder, a named pipe (FIFO, opening one would wait
  forever for a writer), a character or block device (``/dev/zero`` never ends), a socket;
- a symbolic-link loop, a missing file, a file that cannot be opened;
- a file longer than the reader's own limit (``max_bytes``);
- a *sparse* file, whose length is mostly holes (a 4 KB file on disk claiming 5 GB): no
  chainrule writer produces one, and reading its holes would cost gigabytes of zeros;
- a file whose contents, times the reader's ``expansion`` (how much memory the parsed form
  needs per byte of file), would not fit in the memory available now.

Every refusal is one exception of the class the reader documents (``ModelFormatError`` for
model files, ``DataError`` for CSV files, ``CLIError`` for the command line's own files), with
a message that starts with the file's name and says what to do.
"""

from __future__ import annotations

import errno
import os
import stat

#: Files longer than this are checked for holes (smaller ones cannot hurt).
SPARSE_CHECK_BYTES = 1 << 20
#: A file whose holes cover more than this fraction of its length is refused as sparse.
SPARSE_HOLE_FRACTION = 0.5
#: Memory a CSV reader needs per byte of file (the text, then one Python string per cell).
CSV_MEMORY_PER_BYTE = 10.0
_MAX_EXTENTS = 4096  # stop walking a file's extents after this many (then: not sparse)

_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use now: ``MemAvailable`` (Linux), else the
    physical memory, capped by a cgroup v2 memory limit and by ``RLIMIT_AS``; ``None`` when
    the system does not say."""
    found = None
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f.read(8192).splitlines():
                if line.startswith(b"MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        found = None
    if found is None:
        try:
            found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            found = None
    try:  # a container's own limit (cgroup v2), which MemAvailable does not show
        with open("/sys/fs/cgroup/memory.max", "rb") as f:
            limit = f.read(64).strip()
        if limit.isdigit():
            with open("/sys/fs/cgroup/memory.current", "rb") as f:
                room = max(0, int(limit) - int(f.read(64).strip()))
            found = room if found is None else min(found, room)
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            found = soft if found is None else min(found, soft)
    except (ImportError, OSError, ValueError):
        pass
    return found


def _refuse(error, source: str, problem: str):
    return error(f"{source}: {problem}")


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points, directly or not, back to itself)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"cannot open the file ({exc.strerror or exc})"


def data_bytes(fd: int, size: int) -> int:
    """Bytes of ``fd`` backed by data, holes excluded (``size`` where holes cannot be seen)."""
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return size
    total = position = 0
    try:
        for _ in range(_MAX_EXTENTS):
            try:
                start = os.lseek(fd, position, seek_data)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole from here to the end
                    return total
                raise
            end = os.lseek(fd, start, seek_hole)
            total += end - start
            if end >= size:
                return total
            position = end
        return size  # too many extents to count: assume dense
    except OSError:  # the file system cannot say
        return size
    finally:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError:
            pass


def _check_stat(info: os.stat_result, source: str, error, what: str, max_bytes, expansion):
    for test, problem in _KINDS:
        if test(info.st_mode):
            advice = "; save the data to a file first" if stat.S_ISFIFO(info.st_mode) else ""
            raise _refuse(error, source, f"{problem} (expected a {what}){advice}")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(error, source, f"is not a regular file (expected a {what})")
    size = info.st_size
    if max_bytes is not None and size > max_bytes:
        raise _refuse(
            error,
            source,
            f"the file is {_megabytes(size)}, more than the {_megabytes(max_bytes)} a {what} "
            f"may have",
        )
    return size


def check_memory(nbytes: int, source: str, error, what: str = "file") -> None:
    """Refuse (``error``) when ``nbytes`` is more than the memory available now."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise _refuse(
            error,
            source,
            f"reading this {what} needs about {_megabytes(nbytes)} of memory but only "
            f"{_megabytes(free)} is available; use a smaller file or free some memory",
        )


def _check_sparse(fd: int, size: int, source: str, error, what: str) -> None:
    if size < SPARSE_CHECK_BYTES:
        return
    dense = data_bytes(fd, size)
    if size - dense > SPARSE_HOLE_FRACTION * size:
        raise _refuse(
            error,
            source,
            f"the file is sparse: {_megabytes(size)} long but only {_megabytes(dense)} hold "
            f"data (the rest are holes); a {what} is never written that way, so it is "
            f"damaged or crafted; restore it from a good copy",
        )


def _stat_checked(source: str, error, what: str, max_bytes, expansion) -> int:
    try:
        info = os.stat(source)
    except OSError as exc:
        raise _refuse(error, source, _describe_os_error(exc)) from None
    except ValueError as exc:  # an embedded NUL
        raise _refuse(error, source, f"not a usable file name ({exc})") from None
    return _check_stat(info, source, error, what, max_bytes, expansion)


def check_file(
    path,
    error,
    *,
    what: str = "file",
    max_bytes: int | None = None,
    expansion: float = 1.0,
) -> int:
    """Check, without opening it, that ``path`` is a regular file a reader may read; its size.

    Args:
        path: the file (symbolic links are followed).
        error: the exception class the calling reader documents; every refusal is one of it.
        what: the kind of file the reader expects, for the message (``"CSV file"``).
        max_bytes: the longest file the reader accepts (``None``: no fixed limit).
        expansion: memory the reader needs per byte of file; the file is refused when
            ``size * expansion`` exceeds the memory available now.

    Raises:
        error: not a regular file, a link loop, missing, too large, or sparse.
    """
    source = os.fspath(path)
    size = _stat_checked(source, error, what, max_bytes, expansion)
    if size >= SPARSE_CHECK_BYTES:
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise _refuse(error, source, _describe_os_error(exc)) from None
        try:
            _check_sparse(fd, size, source, error, what)
        finally:
            os.close(fd)
    check_memory(int(size * expansion), source, error, what)
    return size


def open_file(
    path,
    error,
    *,
    what: str = "file",
    max_bytes: int | None = None,
    expansion: float = 1.0,
):
    """Like :func:`check_file`, then open it: ``(binary file object, size)``.

    The file is opened without blocking (a FIFO swapped in after the check cannot make the
    open wait) and checked again through the open descriptor, so what is read is what was
    checked.
    """
    source = os.fspath(path)
    _stat_checked(source, error, what, max_bytes, 0.0)  # devices and FIFOs are never opened
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise _refuse(error, source, _describe_os_error(exc)) from None
    try:
        info = os.fstat(fd)
        size = _check_stat(info, source, error, what, max_bytes, expansion)
        _check_sparse(fd, size, source, error, what)
        check_memory(int(size * expansion), source, error, what)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, size


def read_file(
    path,
    error,
    *,
    what: str = "file",
    max_bytes: int | None = None,
    expansion: float = 1.0,
) -> bytes:
    """The whole contents of a checked regular file (see :func:`open_file`); a file that
    grows while it is read is refused instead of being read past its checked size."""
    source = os.fspath(path)
    f, size = open_file(source, error, what=what, max_bytes=max_bytes, expansion=expansion)
    with f:
        try:
            data = f.read(size + 1)
        except MemoryError:
            raise _refuse(
                error, source, f"not enough memory to read this {_megabytes(size)} {what}"
            ) from None
        except OSError as exc:
            raise _refuse(error, source, f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > size:
        raise _refuse(error, source, "the file grew while it was read; try again once it is done")
    return data


#: The longest small JSON/TOML file the command line reads (run.json, --config files).
MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024
