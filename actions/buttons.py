"""Button payloads as Rasa writes them: ``/intent{"entity": "value"}``.

A payload is a message: sending it back is pressing the button. Built with json.dumps, so
quotes and lists are always written the same way (the engine's parser reads them back).
"""

from __future__ import annotations

import json
from typing import Any


def payload(intent: str, **entities: Any) -> str:
    """The payload that sends this intent with these entities."""
    return f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}"


def button(title: str, intent: str, **entities: Any) -> dict[str, str]:
    """A payload button."""
    return {"title": title, "payload": payload(intent, **entities)}
