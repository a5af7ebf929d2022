"""The conversation engine: NLU, rules and forms, and actions, one turn at a time."""

from bot.engine.core import BotReply, Engine

__all__ = ["BotReply", "Engine"]
