"""The terminal channel: chat with the bot in a shell. Type a button's number to press it."""

from __future__ import annotations

import asyncio
import getpass
import textwrap
from typing import TextIO

from bot.engine import BotReply, Engine

CHANNEL = "terminal"
QUIT_WORDS = {"/quit", "/exit"}


def render(replies: list[BotReply], width: int = 78) -> tuple[str, list[str]]:
    """The text to print, and the payloads that numbers stand for."""
    lines: list[str] = []
    payloads: list[str] = []
    for reply in replies:
        for paragraph in reply.text.split("\n"):
            wrapped = textwrap.fill(paragraph, width=width) if paragraph.strip() else ""
            lines.append(wrapped)
        for button in reply.buttons:
            if "payload" in button:
                payloads.append(button["payload"])
                lines.append(f"  [{len(payloads)}] {button['title']}")
            else:
                lines.append(f"  [link] {button['title']}: {button['url']}")
        lines.append("")
    return "\n".join(lines), payloads


def resolve(text: str, payloads: list[str]) -> str:
    """A typed number presses that button; anything else is sent as typed."""
    stripped = text.strip()
    # isdecimal, not isdigit: "²" is a digit that int() cannot read; and no button number
    # is longer than a few digits (int() refuses thousands of them).
    if stripped.isdecimal() and len(stripped) <= 4 and 1 <= int(stripped) <= len(payloads):
        return payloads[int(stripped) - 1]
    return text


async def run_terminal(engine: Engine, out: TextIO, chat_id: str | None = None) -> None:
    """Talk with the bot until end of input or /quit."""
    chat_id = chat_id or getpass.getuser()
    out.write(
        "Chat with the mutual-aid bot. Type /quit to leave, /forget to delete your data.\n\n"
    )
    text, payloads = render(await engine.handle(CHANNEL, chat_id, "/start"))
    out.write(text + "\n")
    while True:
        try:
            typed = await asyncio.to_thread(input, "you> ")
        except (EOFError, KeyboardInterrupt):
            out.write("\nGoodbye.\n")
            return
        if typed.strip().lower() in QUIT_WORDS:
            out.write("Goodbye.\n")
            return
        text, payloads = render(await engine.handle(CHANNEL, chat_id, resolve(typed, payloads)))
        out.write("\n" + text + "\n")
