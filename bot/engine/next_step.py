"""No dead ends and no loops: every turn offers a next step, and never repeats itself.

Two rules on the messages of a finished turn (issue 10):
- the turn ends with buttons, asks a form question, or closes the conversation kindly
  (``CLOSING``); otherwise the last message gets the buttons of ``utter_next_steps``;
- the bot never sends the same reply twice in a row: the second time it sends
  ``utter_said_that_already``, which offers other ways on. Crisis replies are exempt: help
  is always said again in full.

Only a short hash of the bot's own reply is kept between turns, never anything typed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Replies that end the conversation, or erase it: a button after them would be noise.
CLOSING = frozenset({"utter_goodbye", "utter_forgotten", "utter_group_chat"})
NEXT_STEPS = "utter_next_steps"
SAID_ALREADY = "utter_said_that_already"


def has_next_step(messages: list[dict[str, Any]]) -> bool:
    """Whether the turn already offers a way on: buttons, or a closing reply."""
    if not messages:
        return True
    if any(m.get("buttons") for m in messages):
        return True
    return messages[-1].get("response") in CLOSING


def add_buttons(messages: list[dict[str, Any]], buttons: list[dict[str, Any]]) -> None:
    """Give the last message these buttons."""
    messages[-1]["buttons"] = [dict(b) for b in buttons]


def reply_key(messages: list[dict[str, Any]]) -> str:
    """A short hash of what the bot said (texts and buttons), to spot a repeat."""
    said = [[m.get("text", ""), m.get("buttons") or []] for m in messages]
    encoded = json.dumps(said, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
