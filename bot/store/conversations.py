"""The tracker store: each conversation's state in one SQLite file, via sqlite-utils, with the
other tables (bot/store/tables.py) on the same connection.

Stored per conversation: slots (values from buttons, entities and intents; never typed text),
active form and requested slot, recent intent and action names, the payloads of buttons the
bot offered, and timestamps. The id is a pseudonym (see bot.pseudonym).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlite_utils import Database

from bot.clock import now_iso
from bot.store import process_lock
from bot.store.schema import migrations
from bot.store.tables import CallbackTable, FollowupTable, LinkTables, StaffTables

HISTORY_LIMIT = 40
OFFERED_LIMIT = 40

_LOAD = (
    "SELECT id, slots, active_loop, history, offered, turns, created_at, updated_at,"
    " last_reply FROM conversations WHERE id = ?"
)
_SAVE = (
    "INSERT INTO conversations (id, slots, active_loop, requested_slot, history, offered,"
    " turns, created_at, updated_at, last_reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET slots = excluded.slots,"
    " active_loop = excluded.active_loop, requested_slot = excluded.requested_slot,"
    " history = excluded.history, offered = excluded.offered, turns = excluded.turns,"
    " updated_at = excluded.updated_at, last_reply = excluded.last_reply"
)


def private_folder(folder: Path) -> None:
    """Create the folder owner-only (0700) if it is missing; an existing one is left as is."""
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)


def now() -> str:
    """The current UTC time as stored (bot/clock.py)."""
    return now_iso()


class ConversationState(BaseModel):
    """Everything the engine remembers about one conversation between turns."""

    id: str
    slots: dict[str, Any] = Field(default_factory=dict)
    active_loop: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    offered: list[str] = Field(default_factory=list)
    turns: int = 0
    # A short hash of the bot's last reply (never anything typed), so it is not repeated.
    last_reply: str = ""
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)

    @property
    def requested_slot(self) -> str | None:
        """The slot the active form is asking for."""
        value = self.slots.get("requested_slot")
        return value if isinstance(value, str) else None


class TrackerStore:
    """Load and save conversation states; erase them on request."""

    def __init__(self, path: Path, exclusive: bool = False) -> None:
        """Open (or create) the database; ``exclusive`` for a process that answers chats,
        which must be the only one on this file (bot/store/process_lock.py)."""
        private_folder(path.parent)
        if exclusive:
            process_lock.hold(path)
        self.exclusive = exclusive
        if not path.exists():
            # Owner-only from the start; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        # One connection shared by the channels' threads; writes are serialised by a lock.
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self.db = Database(self._conn)
        self._lock = threading.RLock()
        # For tests that look at the rows; the bot's modules use the tables below.
        self.lock = self._lock
        self.callbacks = CallbackTable(self.db, self._lock)
        self.followups = FollowupTable(self.db, self._lock)
        self.links = LinkTables(self.db, self._lock)
        self.staff = StaffTables(self.db, self._lock)
        with self._lock:
            migrations.apply(self.db)
            # With write-ahead logging, NORMAL is crash-safe (a power cut can lose the last
            # turn, never corrupt the file) and spares an fsync on every turn.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten with zeros, not left in free pages (/forget).
            self._conn.execute("PRAGMA secure_delete=ON")

    def close(self) -> None:
        """Close the database connection (and give back the process lock)."""
        with self._lock:
            self._conn.close()
        if self.exclusive:
            process_lock.release(self.path)
            self.exclusive = False

    def load(self, conversation_id: str) -> ConversationState | None:
        """The saved state of a conversation, or None if it is new."""
        # Plain SQL on the hot path: sqlite-utils' table helpers look up the schema on
        # every call, which cost more than the query itself (make bench).
        with self._lock:
            row = self._conn.execute(_LOAD, (conversation_id,)).fetchone()
        if row is None:
            return None
        return ConversationState(
            id=row[0],
            slots=json.loads(row[1]),
            active_loop=row[2],
            history=json.loads(row[3]),
            offered=json.loads(row[4]),
            turns=row[5],
            created_at=row[6],
            updated_at=row[7],
            last_reply=row[8] or "",
        )

    def save(self, state: ConversationState, transient_slots: set[str] = frozenset()) -> None:
        """Save a whole state; slots that may hold typed text are never written."""
        slots = {k: v for k, v in state.slots.items() if k not in transient_slots}
        state.updated_at = now()
        record = (
            state.id,
            json.dumps(slots, sort_keys=True),
            state.active_loop,
            state.requested_slot,
            json.dumps(state.history[-HISTORY_LIMIT:]),
            json.dumps(state.offered[-OFFERED_LIMIT:]),
            state.turns,
            state.created_at,
            state.updated_at,
            state.last_reply,
        )
        with self._lock, self._conn:
            self._conn.execute(_SAVE, record)

    def forget(self, conversation_id: str) -> bool:
        """Erase everything stored for a conversation; True if there was anything."""
        with self._lock, self.db.atomic():
            table = self.db.table("conversations")
            existed = bool(list(table.rows_where("id = ?", [conversation_id], limit=1)))
            table.delete_where("id = ?", [conversation_id])
            for name in ("callbacks", "followups"):
                self.db.table(name).delete_where("conversation_id = ?", [conversation_id])
        with self._lock:
            # The write-ahead log still holds old copies of the rows: fold it into the file
            # (where secure_delete has zeroed them) and empty it.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return existed

    def purge_idle(self, days: int, also: Callable[[str], object] | None = None) -> int:
        """Erase conversations idle for more than ``days`` (with their buttons and check-ins),
        calling ``also`` with each id first (what other parts keep, such as a staff
        enrolment). Returns how many went. Anonymous events are kept: they hold no id."""
        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM conversations WHERE updated_at < ?", [cutoff]
            ).fetchall()
        for (conversation_id,) in rows:
            if also is not None:
                also(conversation_id)
            self.forget(conversation_id)
        return len(rows)

    def record_event(
        self, kind: str, site_id: str | None, fields: list[str] | None = None
    ) -> None:
        """Record an anonymous event (never a value a person gave, only field names)."""
        with self._lock:
            self.db.table("events").insert(
                {"kind": kind, "site_id": site_id, "at": now(), "fields": json.dumps(fields or [])}
            )

    def count(self) -> int:
        """How many conversations are stored."""
        with self._lock:
            return self.db.table("conversations").count
