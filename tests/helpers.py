"""Test helpers: talking to an engine and checking what it said."""

from __future__ import annotations

from bot.engine import BotReply, Engine
from bot.staff import StaffService
from bot.staff_commands import StaffCommands


async def say(
    engine: Engine, text: str, chat_id: str = "tester", channel: str = "test"
) -> list[BotReply]:
    """Send one message and return the replies."""
    return await engine.handle(channel, chat_id, text)


def texts(replies: list[BotReply]) -> str:
    """All reply texts joined, for 'in' checks."""
    return "\n".join(r.text for r in replies)


def payloads(replies: list[BotReply]) -> list[str]:
    """Every payload button offered in the replies."""
    return [b["payload"] for r in replies for b in r.buttons if "payload" in b]


def read_every_message_as(engine: Engine, intent: str, entities: dict[str, str]) -> None:
    """Make the engine's NLU read every message as this intent with these entities."""

    def parse(text: str) -> dict[str, object]:
        top = {"name": intent, "confidence": 0.95}
        found = [{"entity": name, "value": value} for name, value in entities.items()]
        return {"text": text, "intent": top, "intent_ranking": [top], "entities": found}

    engine.nlu.parse = parse  # type: ignore[method-assign]


def staff_of(engine: Engine) -> StaffService:
    """The staff service behind the engine's staff commands."""
    commands = engine.find(StaffCommands)
    assert commands is not None, "the engine was built without staff commands"
    return commands.staff
