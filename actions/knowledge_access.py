"""Shared helpers for actions: the knowledge base, loaded once, and the per-chat order.

Loaded lazily (on first use, not at import) so that `python -m rasa_sdk --actions actions`
and the in-process executor both start fast and find the same files.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from bot.knowledge import Knowledge, MutualAidOption
from bot.settings import PROJECT_DIR


@lru_cache(maxsize=4)
def _knowledge_at(folder: str) -> Knowledge:
    knowledge = Knowledge(Path(folder))
    knowledge.load_all()
    return knowledge


def knowledge() -> Knowledge:
    """The knowledge base under MUTUAL_AID_CONTENT_DIR (default: this project)."""
    content = os.environ.get("MUTUAL_AID_CONTENT_DIR") or str(PROJECT_DIR)
    return _knowledge_at(str(Path(content) / "knowledge"))


def shuffled(options: list[MutualAidOption], conversation_id: str) -> list[MutualAidOption]:
    """Options in an order that differs between chats and stays the same within one."""

    def key(option: MutualAidOption) -> str:
        return hashlib.sha256(f"{conversation_id}:{option.id}".encode()).hexdigest()

    return sorted(options, key=key)


def options_for(audience: str) -> list[MutualAidOption]:
    """Every option meant for an audience (self, family), gambling-only ones left out."""
    return [
        option
        for option in knowledge().options
        if audience in option.for_whom and not option.gambling_only
    ]
