"""Pseudonymous conversation ids: a keyed HMAC of the channel and the chat id.

The key lives in the data folder (mode 0600, created on first run), so the database alone
never reveals which Telegram chat or terminal user a conversation belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret key, creating it with owner-only permissions if it is missing."""
    if not path.parent.exists():
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = -1
    if fd < 0:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            # Anyone who can read the key can tell which chat a stored conversation is.
            raise ValueError(
                f"{path}: the secret key can be read by other users; "
                f"make it private with: chmod 600 {path}"
            )
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ValueError(f"{path}: the secret key is too short; delete it to make a new one")
        return key
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class Pseudonymiser:
    """Turns a channel's chat id into a stable id that cannot be reversed without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def conversation_id(self, channel: str, chat_id: str) -> str:
        """The stored id for one chat on one channel."""
        message = f"{channel}\x1f{chat_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def sign(self, purpose: str, data: bytes) -> bytes:
        """A MAC for other uses of the same key (links), separated by purpose."""
        return hmac.new(self._key, purpose.encode() + b"\x1f" + data, hashlib.sha256).digest()
