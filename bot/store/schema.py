"""The database schema: sqlite-utils migrations, applied in order when the store opens.

No table holds free text that a person typed.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("mutual_aid_bot")


@migrations()
def m001_conversations(db: Database) -> None:
    """Create the conversations table."""
    db.table("conversations").create(
        {
            "id": str,
            "slots": str,
            "active_loop": str,
            "requested_slot": str,
            "history": str,
            "offered": str,
            "turns": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"slots", "history", "offered", "turns", "created_at", "updated_at"},
        if_not_exists=True,
    )


@migrations(transactional=False)
def m002_wal(db: Database) -> None:
    """Write-ahead logging: readers never block the writer."""
    db.enable_wal()


@migrations()
def m003_links_staff_events(db: Database) -> None:
    """Tables for links, staff enrolment and anonymous events (no free text anywhere)."""
    # Single-use link nonces that have been used (the nonce only, hashed).
    db.table("used_links").create(
        {"nonce": str, "used_at": str}, pk="nonce", not_null={"used_at"}, if_not_exists=True
    )
    # Short codes a person can type when their Telegram client drops the start payload.
    db.table("link_codes").create(
        {"code": str, "payload": str, "site_id": str, "expires_at": str, "created_at": str},
        pk="code",
        not_null={"payload", "site_id", "expires_at", "created_at"},
        if_not_exists=True,
    )
    # One-time staff enrolment codes, stored hashed.
    db.table("staff_invites").create(
        {"code_hash": str, "site_id": str, "expires_at": str, "used_at": str},
        pk="code_hash",
        not_null={"site_id", "expires_at"},
        if_not_exists=True,
    )
    # Enrolled staff: a pseudonymous conversation id and the site.
    db.table("staff").create(
        {"conversation_id": str, "site_id": str, "enrolled_at": str},
        pk="conversation_id",
        not_null={"site_id", "enrolled_at"},
        if_not_exists=True,
    )
    # Wrong enrolment codes, to slow down guessing.
    db.table("staff_attempts").create(
        {"id": int, "conversation_id": str, "at": str},
        pk="id",
        not_null={"conversation_id", "at"},
        if_not_exists=True,
    )
    # Anonymous events for /stats and audit: kind, site, time, and field names only.
    db.table("events").create(
        {"id": int, "kind": str, "site_id": str, "at": str, "fields": str},
        pk="id",
        not_null={"kind", "at"},
        if_not_exists=True,
    )


@migrations()
def m004_telegram(db: Database) -> None:
    """Short ids for button payloads, and follow-up check-ins (Telegram channel)."""
    # Telegram limits callback_data to 64 bytes, so buttons carry a short id.
    db.table("callbacks").create(
        {"id": str, "conversation_id": str, "payload": str, "created_at": str},
        pk="id",
        not_null={"conversation_id", "payload", "created_at"},
        if_not_exists=True,
    )
    # A check-in the person asked for. The chat id is needed to send it; the row is
    # deleted once sent or cancelled, and by /forget.
    db.table("followups").create(
        {"conversation_id": str, "chat_id": str, "due_at": str, "status": str, "created_at": str},
        pk="conversation_id",
        not_null={"chat_id", "due_at", "status", "created_at"},
        if_not_exists=True,
    )


@migrations()
def m005_last_reply(db: Database) -> None:
    """A short hash of the bot's last reply, so the same reply is not sent twice running."""
    db.table("conversations").add_column("last_reply", str)
