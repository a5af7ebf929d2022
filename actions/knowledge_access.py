"""Shared helpers for actions: the knowledge base, loaded once, and the per-chat order.

Loaded lazily (on first use, not at import) so that `python -m rasa_sdk --actions actions`
and the in-process executor both start fast and find the same files.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from bot import action_config
from bot.knowledge import Knowledge, MutualAidOption, Site, load_sites
from bot.referral import ReferralFile, load_referral


@lru_cache(maxsize=4)
def _knowledge_at(folder: str) -> Knowledge:
    knowledge = Knowledge(Path(folder))
    knowledge.load_all()
    return knowledge


def content_dir() -> Path:
    """Where dialogues/ and knowledge/ are, as configured for this action call."""
    return action_config.current().content_dir


def knowledge() -> Knowledge:
    """The knowledge base of the configured content folder (default: this project)."""
    return _knowledge_at(str(content_dir() / "knowledge"))


def shuffled(options: list[MutualAidOption], conversation_id: str) -> list[MutualAidOption]:
    """Options in an order that differs between chats and stays the same within one."""

    def key(option: MutualAidOption) -> str:
        return hashlib.sha256(f"{conversation_id}:{option.id}".encode()).hexdigest()

    return sorted(options, key=key)


def phone_line(option: MutualAidOption) -> str:
    """A new line with the option's phone number and hours, or nothing if it has none."""
    if not option.helpline:
        return ""
    hours = f" ({option.helpline.hours.value})" if option.helpline.hours else ""
    return f"\nPhone: {option.helpline.number.value}{hours}"


def options_for(audience: str) -> list[MutualAidOption]:
    """Every option meant for an audience (self, family), gambling-only ones left out."""
    return [
        option
        for option in knowledge().options
        if audience in option.for_whom and not option.gambling_only
    ]


@lru_cache(maxsize=8)
def _sites_at(path: str, mtime: float) -> tuple[Site, ...]:
    return tuple(load_sites(Path(path)))


def sites() -> dict[str, Site]:
    """The configured sites file's sites by id (default: the example sites)."""
    path = action_config.current().sites_path
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return {site.id: site for site in _sites_at(str(path), mtime)}


def referral() -> ReferralFile:
    """What a referral can carry (knowledge/referral.yml)."""
    return _referral_at(str(knowledge().folder))


@lru_cache(maxsize=4)
def _referral_at(folder: str) -> ReferralFile:
    return load_referral(Path(folder))
