"""The conversation engine: NLU, rules and forms, and actions, one turn at a time."""

from bot.engine.core import Engine, EngineParts
from bot.engine.turn import BotReply

__all__ = ["BotReply", "Engine", "EngineParts"]
