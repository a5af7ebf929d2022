"""Interceptors: features that answer some messages before the conversation sees them.

An interceptor is plugged in when the bot is assembled (bot/app.py), so the engine imports
no feature module. It gets each message after /forget and before the safety net and NLU;
it answers (a list of replies) or passes (None). A message it answers is not a turn: no
intent, no history, nothing stored but what the interceptor keeps itself, which it erases
in ``forget``.

Interceptors must pass on anything that could be a crisis: they answer only exact commands
(``/staff CODE``, ``/link``), never free text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.engine.turn import BotReply
from bot.store import ConversationState


@dataclass(frozen=True)
class Intercepted:
    """A message offered to an interceptor, and a way to answer it from the domain."""

    conversation_id: str
    channel: str
    text: str
    state: ConversationState
    # reply("utter_x", name=value, ...): a domain response with these template values.
    reply: Callable[..., list[BotReply]]


class Interceptor(Protocol):
    """Answers some messages before the conversation does."""

    def intercept(self, message: Intercepted) -> list[BotReply] | None:
        """Replies, or None to let the message through."""
        ...

    def forget(self, conversation_id: str) -> Any:
        """Erase what the interceptor keeps about a conversation (/forget, retention)."""
        ...
