"""One bot process per database: an exclusive lock on a file beside it.

Two processes answering chats from one database would each load a conversation, answer,
and save over the other's turn (last writer wins). So a process that runs conversations
holds ``<database>.lock`` with ``flock`` for as long as it lives; a second one is refused
with a clear message. The kernel drops the lock when the process ends, however it ends
(kill -9 included), so a stale lock file never blocks a restart. Commands that only add
rows (``link``, ``staff invite``) do not take it: SQLite keeps their writes safe.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class DatabaseInUse(OSError):
    """Another process is answering chats from this database."""


_HELD: dict[Path, tuple[int, int]] = {}  # lock path -> (file descriptor, holders)
_GUARD = threading.Lock()


def _lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def hold(database: Path) -> None:
    """Take the database's lock for this process (engines in one process share it)."""
    path = _lock_path(database.resolve())
    with _GUARD:
        if path in _HELD:
            fd, holders = _HELD[path]
            _HELD[path] = (fd, holders + 1)
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseInUse(
                f"another mutual-aid-bot process is already answering chats from {database}. "
                "Stop it first, or give this one its own database with --db."
            ) from None
        _HELD[path] = (fd, 1)


def release(database: Path) -> None:
    """Give the lock back when the last holder in this process is done."""
    path = _lock_path(database.resolve())
    with _GUARD:
        if path not in _HELD:
            return
        fd, holders = _HELD[path]
        if holders > 1:
            _HELD[path] = (fd, holders - 1)
            return
        del _HELD[path]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
