"""Button payloads as messages, accepted only when the bot offered them.

A payload looks like Rasa's: ``/intent`` or ``/intent{"entity": "value"}``. Anyone can type
such text, so a payload with entities counts only if it is exactly one the bot offered to
this person; a plain ``/intent`` counts when the intent exists (typing it is no different
from saying it). Anything else goes through NLU as ordinary text, so no slot can be set by
typing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_\-]+)(?P<entities>\{.*\})?$", re.DOTALL)
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<arg>\S{1,128}))?\s*$")


@dataclass(frozen=True)
class ParsedPayload:
    """An accepted payload: its intent and entities."""

    intent: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def parse_payload(text: str, offered: list[str], known_intents: set[str]) -> ParsedPayload | None:
    """The intent and entities of an accepted payload, or None if it is just text."""
    match = _PAYLOAD.match(text.strip())
    if not match:
        return None
    intent = match.group("intent")
    raw_entities = match.group("entities")
    if raw_entities is None:
        return ParsedPayload(intent) if intent in known_intents else None
    if text.strip() not in offered or intent not in known_intents:
        return None
    try:
        values = json.loads(raw_entities)
    except json.JSONDecodeError:
        return None
    if not isinstance(values, dict):
        return None
    entities: list[dict[str, Any]] = []
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            entities.append({"entity": name, "value": item, "extractor": "payload"})
    return ParsedPayload(intent, entities)


def payload_shaped(text: str) -> str | None:
    """The intent named by text shaped like ``/intent{...}``, accepted or not.

    The engine uses it to keep such text away from NLU's entity extractors: a payload
    that was not offered must not set a slot through NLU either.
    """
    match = _PAYLOAD.match(text.strip())
    if not match or match.group("entities") is None:
        return None
    return match.group("intent")


def parse_start(text: str) -> tuple[bool, str | None]:
    """Whether the text is a /start command, and its argument (a link payload) if any."""
    match = _START.match(text.strip())
    if not match:
        return False, None
    return True, match.group("arg")
