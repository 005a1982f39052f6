"""Read a file that the code under test could have planted: never through a symlink, only a
regular file inside the folder it belongs to, and never more than a cap.

A plan symlinked to `/dev/zero` would otherwise be read forever, one pointing at the bot's key
file would be read at all, and a JUnit report of gigabytes would be parsed whole."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class UnsafeFile(Exception):
    """The file may not be read; the message says why, in words fit for a check run."""


def read_capped(path: Path, max_bytes: int, *, inside: Path) -> bytes:
    """The bytes of `path`, a regular file under `inside` reached without symlinks.

    Raises `FileNotFoundError` when it does not exist and `UnsafeFile` when it may not be read."""
    _refuse_symlinked_parents(path, inside)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise UnsafeFile("is a symbolic link, which is not followed") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafeFile("is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise UnsafeFile(f"is {info.st_size:,} bytes, over the limit of {max_bytes:,}")
        data = handle.read(max_bytes + 1)  # the file may still be growing
    if len(data) > max_bytes:
        raise UnsafeFile(f"is over the limit of {max_bytes:,} bytes")
    return data


def _refuse_symlinked_parents(path: Path, inside: Path) -> None:
    """Every folder between `inside` and the file is a real folder, not a symlink."""
    try:
        relative = path.relative_to(inside)
    except ValueError:
        raise UnsafeFile("is outside its folder") from None
    current = inside
    for part in relative.parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafeFile(f"lies under {part}/, a symbolic link, which is not followed")
