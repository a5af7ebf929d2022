"""One turn's data: the bot's reply, the turn in progress, and the text as the engine reads it.

Held in memory only; what a person typed is never saved.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.store import ConversationState

CRISIS_INTENT = "crisis"
CRISIS_ACTION = "action_crisis_support"
START_INTENT = "start"
# Only the safety net reads every word; NLU gets the first MAX_TEXT characters.
MAX_TEXT = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class BotReply:
    """One message from the bot: text and buttons (payload or URL)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: bytes | None = None  # a PNG (staff QR codes)

    def as_rest(self, recipient_id: str) -> dict[str, Any]:
        """The message in the shape of Rasa's REST channel output."""
        out: dict[str, Any] = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = "data:image/png;base64," + base64.b64encode(self.image).decode()
        return out

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> BotReply:
        """A rendered response or dispatched message as a reply."""
        return cls(text=message.get("text", ""), buttons=list(message.get("buttons") or []))


@dataclass
class Turn:
    """What happens while the bot answers one message (held in memory only)."""

    state: ConversationState
    channel: str
    latest_message: dict[str, Any]
    loop_before: str | None
    requested_before: str | None
    filled: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    actions_run: list[str] = field(default_factory=list)
    followup: str | None = None
    history_start: int = 0

    @property
    def intent(self) -> str:
        """The intent of the message being answered."""
        return str(self.latest_message["intent"]["name"])

    @property
    def seed(self) -> str:
        """Picks a response variation: stable within a turn, different between turns."""
        return f"{self.state.id}:{self.state.turns}"


def parse_as(text: str, intent: str) -> dict[str, Any]:
    """A parse decided by the engine, not the NLU: this intent, certain, no entities."""
    guess = {"name": intent, "confidence": 1.0}
    return {"text": text, "intent": guess, "intent_ranking": [guess], "entities": []}


def clean_text(text: str) -> str:
    """Strip control characters; the whole text is kept for the safety net.

    A command typed or pasted with look-alike or invisible characters ("\u200b/forget",
    full-width letters) must still work, so a message that starts with "/" after those
    are taken out is read in NFKC form without format characters.
    """
    text = _CONTROL.sub(" ", text).strip()
    command = "".join(c for c in unicodedata.normalize("NFKC", text) if not _is_format(c))
    return command.strip() if command.strip().startswith("/") else text


def _is_format(character: str) -> bool:
    """Zero-width spaces and joiners, direction marks and the like (Unicode category Cf)."""
    return unicodedata.category(character) == "Cf"


def nlu_text(text: str) -> str:
    """What goes to NLU: capped, since only the safety net must read every word."""
    return text[:MAX_TEXT]
