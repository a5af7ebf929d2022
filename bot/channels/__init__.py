"""Channels: adapters between the engine and the places people chat (terminal, JSONL,
Telegram, the REST channel and the web page)."""

from __future__ import annotations

from pydantic import ValidationError


def explain(exc: ValidationError, whole: str = "body") -> str:
    """A validation error as one line a developer can act on: ``field: problem; ...``."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or whole
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)
