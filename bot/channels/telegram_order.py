"""The order of Telegram updates: different chats at the same time, one chat's updates
strictly one after another (PTB's concurrent updates with a lock per chat)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.keyed_locks import KeyedLocks


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats at the same time; one chat's updates strictly one after another.

    The lock covers the whole handler, replies included, so a button press and a message
    sent just after it are answered in that order and never interleaved.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        # One lock per chat, dropped when unused.
        self._locks = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers under its chat's lock."""
        chat = update.effective_chat if isinstance(update, Update) else None
        async with self._locks.hold(chat.id if chat is not None else None):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
