"""Reading and writing files safely: bounded reads of regular files, atomic writes.

A spec names files (a model's config.json, a YAML config, a plan): they are read only
when they are regular files and at most ``limit`` bytes long, so that ``"/dev/zero"`` or
a FIFO named in a spec is refused at once instead of reading forever or hanging. What
the command line writes (a plan, a picture, a spec) goes to a temporary file in the same
folder that replaces the target only when complete: a full disk leaves the old file (or
none), never a truncated one.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile

#: a config.json, YAML config or plan.json is small; a larger file is not one
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def read_limited(path: str | os.PathLike, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises ``OSError`` (with a ``strerror`` fit for a message) when the file cannot be
    opened, is not a regular file (a device, a FIFO, a socket, a folder) or is larger.
    A FIFO is opened without waiting for a writer.
    """
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
        chunks, total = [], 0
        while True:  # the size may grow while reading: never read past the limit
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    ``os.replace``: the target is complete or untouched. The temporary file is removed
    when writing fails; the ``OSError`` is raised again. A target that is not a regular
    file (``/dev/stdout``, a FIFO) is written into directly."""
    path = os.fspath(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    try:
        existing = os.stat(path).st_mode
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing):
        # a device or a FIFO (-o /dev/stdout): write into it, never replace it by a file
        try:
            with open(path, "wb") as handle:
                handle.write(payload)
        except OSError as exc:
            exc.filename = exc.filename or path
            raise
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path)[:40],
                                dir=folder)  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = path  # "no space left on device (out/plan.json)"
        raise


def save_figure(figure, path: str | os.PathLike, **options) -> None:
    """``figure.savefig(path, **options)`` through :func:`write_atomic`: rendered in memory
    (the format from the path's suffix), then written whole."""
    import io

    buffer = io.BytesIO()
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    figure.savefig(buffer, format=suffix, **options)
    write_atomic(path, buffer.getvalue())


def os_error_message(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """A one-line message for an ``OSError``: ``no space left on device (out/plan.json)``."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    elif exc.errno == errno.ENAMETOOLONG:
        reason = "file name too long"
    return f"{reason[:1].lower()}{reason[1:]} ({where})" if where else reason
