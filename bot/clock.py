"""One way to read and write times: UTC, ISO 8601 to the second, so stored times compare as
strings in SQL and parse back the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A time as stored: UTC, ISO 8601, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    """The current time as stored."""
    return iso(utc_now())


def parse_iso(text: str) -> datetime:
    """A stored time back as an aware datetime (a naive one is read as UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
