"""The store's tables other than conversations, each behind a small API, so no module
outside bot/store/ touches the connection, its lock or SQL.

Every method takes the store's lock; methods that must see and change rows together run
in one transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

from bot.clock import now_iso


class _Table:
    def __init__(self, db: Database, lock: threading.RLock) -> None:
        self.db = db
        self.lock = lock


class CallbackTable(_Table):
    """Short ids for button payloads (Telegram's callback_data holds only 64 bytes)."""

    def put(self, callback_id: str, conversation_id: str, payload: str) -> None:
        """Remember what a button id stands for in a conversation."""
        record = {
            "id": callback_id,
            "conversation_id": conversation_id,
            "payload": payload,
            "created_at": now_iso(),
        }
        with self.lock:
            self.db.table("callbacks").upsert(record, pk="id")

    def payload_of(self, callback_id: str, conversation_id: str) -> str | None:
        """The payload behind a button id, if it belongs to this conversation."""
        with self.lock:
            row = self.db.execute(
                "SELECT payload FROM callbacks WHERE id = ? AND conversation_id = ?",
                [callback_id, conversation_id],
            ).fetchone()
        return row[0] if row else None


class FollowupTable(_Table):
    """Check-ins a person asked for: one per conversation, deleted once sent or cancelled."""

    def schedule(self, conversation_id: str, chat_id: str, due_at: str) -> None:
        """Store a check-in, replacing any earlier one for the conversation."""
        record = {
            "conversation_id": conversation_id,
            "chat_id": chat_id,
            "due_at": due_at,
            "status": "pending",
            "created_at": now_iso(),
        }
        with self.lock:
            self.db.table("followups").upsert(record, pk="conversation_id")

    def cancel(self, conversation_id: str) -> None:
        """Remove a conversation's check-in."""
        with self.lock:
            self.db.table("followups").delete_where("conversation_id = ?", [conversation_id])

    def claim_due(self, at: str) -> list[tuple[str, str]]:
        """(conversation id, chat id) of check-ins due by ``at``, each claimed only once, so a
        restart never sends one twice."""
        claimed = []
        with self.lock:
            rows = self.db.execute(
                "SELECT conversation_id, chat_id FROM followups"
                " WHERE status = 'pending' AND due_at <= ?",
                [at],
            ).fetchall()
            for conversation_id, chat_id in rows:
                with self.db.conn:
                    cursor = self.db.execute(
                        "UPDATE followups SET status = 'sending'"
                        " WHERE conversation_id = ? AND status = 'pending'",
                        [conversation_id],
                    )
                if cursor.rowcount == 1:
                    claimed.append((conversation_id, chat_id))
        return claimed


class LinkTables(_Table):
    """Used single-use link nonces (hashed) and short codes."""

    def use_nonce(self, nonce_hash: str, at: str, consume: bool) -> bool:
        """Whether a single-use nonce is still fresh; with ``consume``, use it up
        (atomically: of two chats racing with one link, one wins)."""
        with self.lock:
            if consume:
                with self.db.conn:
                    cursor = self.db.execute(
                        "INSERT OR IGNORE INTO used_links (nonce, used_at) VALUES (?, ?)",
                        [nonce_hash, at],
                    )
                return cursor.rowcount == 1
            return not self.db.execute(
                "SELECT 1 FROM used_links WHERE nonce = ?", [nonce_hash]
            ).fetchone()

    def add_code(self, code: str, payload: str, site_id: str, expires_at: str) -> bool:
        """Store a short code; False if the code is already taken."""
        record = {
            "code": code,
            "payload": payload,
            "site_id": site_id,
            "expires_at": expires_at,
            "created_at": now_iso(),
        }
        with self.lock:
            table = self.db.table("link_codes")
            if list(table.rows_where("code = ?", [code], limit=1)):
                return False
            table.insert(record)
        return True

    def payload_of_code(self, code: str) -> str | None:
        """The payload a short code stands for, or None."""
        with self.lock:
            row = self.db.execute(
                "SELECT payload FROM link_codes WHERE code = ?", [code]
            ).fetchone()
        return row[0] if row else None

    def prune_codes(self, expired_before: str) -> int:
        """Delete codes that expired before this time; how many went."""
        with self.lock:
            table = self.db.table("link_codes")
            count = table.count_where("expires_at < ?", [expired_before])
            table.delete_where("expires_at < ?", [expired_before])
        return count


class StaffTables(_Table):
    """Staff invites (hashed codes), enrolments, wrong attempts, and the anonymous events
    behind /stats."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several steps as one: all or nothing, and no other writer in between."""
        with self.lock, self.db.atomic():
            yield

    # invites

    def prune_invites(self, expired_before: str) -> None:
        with self.lock:
            self.db.table("staff_invites").delete_where("expires_at < ?", [expired_before])

    def invite_exists(self, code_hash: str) -> bool:
        with self.lock:
            return bool(
                self.db.execute(
                    "SELECT 1 FROM staff_invites WHERE code_hash = ?", [code_hash]
                ).fetchone()
            )

    def add_invite(self, code_hash: str, site_id: str, expires_at: str) -> None:
        record = {"code_hash": code_hash, "site_id": site_id, "expires_at": expires_at}
        with self.lock:
            self.db.table("staff_invites").insert({**record, "used_at": None})

    def invite(self, code_hash: str) -> dict[str, Any] | None:
        """The invite with this code hash: code_hash, site_id, expires_at, used_at."""
        with self.lock:
            rows = list(self.db.table("staff_invites").rows_where("code_hash = ?", [code_hash]))
        return rows[0] if rows else None

    def use_invite(self, code_hash: str, at: str) -> bool:
        """Mark an invite used, only if it is still unused: one code never enrols twice."""
        with self.lock:
            cursor = self.db.execute(
                "UPDATE staff_invites SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
                [at, code_hash],
            )
        return cursor.rowcount == 1

    # enrolment

    def enrol(self, conversation_id: str, site_id: str, at: str) -> None:
        record = {"conversation_id": conversation_id, "site_id": site_id, "enrolled_at": at}
        with self.lock:
            self.db.table("staff").upsert(record, pk="conversation_id")

    def site_id_of(self, conversation_id: str) -> str | None:
        with self.lock:
            row = self.db.execute(
                "SELECT site_id FROM staff WHERE conversation_id = ?", [conversation_id]
            ).fetchone()
        return row[0] if row else None

    def unenrol(self, conversation_id: str) -> None:
        with self.transaction():
            self.db.table("staff").delete_where("conversation_id = ?", [conversation_id])

    # wrong attempts

    def prune_attempts(self, before: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM staff_attempts WHERE at < ?", [before])

    def add_attempt(self, conversation_id: str, at: str) -> None:
        with self.lock:
            self.db.table("staff_attempts").insert({"conversation_id": conversation_id, "at": at})

    def clear_attempts(self, conversation_id: str) -> None:
        with self.lock:
            self.db.table("staff_attempts").delete_where("conversation_id = ?", [conversation_id])

    def attempt_times(self, since: str, conversation_id: str | None = None) -> list[str]:
        """Times of wrong attempts since a time, oldest first (one conversation's, or all)."""
        with self.lock:
            if conversation_id is None:
                rows = self.db.execute(
                    "SELECT at FROM staff_attempts WHERE at >= ? ORDER BY at", [since]
                ).fetchall()
            else:
                rows = self.db.execute(
                    "SELECT at FROM staff_attempts WHERE conversation_id = ? AND at >= ?"
                    " ORDER BY at, id",
                    [conversation_id, since],
                ).fetchall()
        return [text for (text,) in rows]

    # anonymous numbers

    def event_counts(self, site_id: str, week: str, month: str) -> list[tuple[str, int, int, int]]:
        """(kind, all time, last 7 days, last 30 days) for starts, handoffs and crises."""
        with self.lock:
            return self.db.execute(
                "SELECT kind, COUNT(*), COALESCE(SUM(at >= ?), 0), COALESCE(SUM(at >= ?), 0)"
                " FROM events WHERE site_id = ? AND kind IN ('start', 'handoff', 'crisis')"
                " GROUP BY kind",
                [week, month, site_id],
            ).fetchall()

    def handoff_fields(self, site_id: str) -> list[list[str]]:
        """The field names shared in each handoff for a site."""
        with self.lock:
            rows = self.db.execute(
                "SELECT fields FROM events WHERE site_id = ? AND kind = 'handoff'", [site_id]
            ).fetchall()
        found = []
        for (text,) in rows:
            try:
                names = json.loads(text or "[]")
            except ValueError:
                continue
            if isinstance(names, list):
                found.append([name for name in names if isinstance(name, str)])
        return found
