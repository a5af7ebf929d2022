"""The JSONL channel: one JSON object in per line, exactly one JSON array out per line.

In:  {"sender": "...", "message": "..."}
Out: [{"recipient_id": "...", "text": "...", "buttons": [...]}] (Rasa REST channel shape).
A line that is not valid JSON or not the right shape gets ``[{"recipient_id": ..., "error":
...}]`` and the stream goes on; nothing already stored is touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.channels import explain
from bot.engine import Engine

CHANNEL = "jsonl"


class IncomingLine(BaseModel):
    """One line of input."""

    model_config = ConfigDict(extra="ignore")

    sender: str = Field(min_length=1, max_length=256)
    # Generous on purpose: the safety net reads the whole message, however long, and a crisis
    # said at the end of a long message must not be turned away as too long.
    message: str = Field(max_length=100_000)


def _is_text(value: Any) -> bool:
    """A string that can be written out as UTF-8 (no lone surrogates from \\ud800 escapes)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(recipient: Any, message: str) -> list[dict[str, Any]]:
    recipient_id = recipient if _is_text(recipient) else None
    return [{"recipient_id": recipient_id, "error": message}]


async def answer_line(engine: Engine, line: str) -> list[dict[str, Any]]:
    """The output array for one input line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(None, f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return _error(None, "not valid JSON (nested too deeply)")
    except ValueError as exc:  # for example an integer with thousands of digits
        return _error(None, f"not valid JSON ({exc})")
    if not isinstance(data, dict):
        return _error(None, 'each line must be a JSON object like {"sender": ..., "message": ...}')
    try:
        incoming = IncomingLine.model_validate(data)
    except ValidationError as exc:
        return _error(data.get("sender"), explain(exc, "line"))
    try:
        replies = await engine.handle(CHANNEL, incoming.sender, incoming.message)
    except Exception as exc:  # one bad turn must not end the stream for everyone else
        return _error(incoming.sender, f"the bot could not answer ({type(exc).__name__})")
    return [reply.as_rest(incoming.sender) for reply in replies]


def _dump(result: list[dict[str, Any]]) -> str:
    """One output line; escaped as ASCII if some text could not be written as UTF-8."""
    text = json.dumps(result, ensure_ascii=False)
    return text if _is_text(text) else json.dumps(result)


async def run_jsonl(engine: Engine, lines: Iterable[str], out: TextIO) -> int:
    """Answer every non-blank line; return how many lines were answered."""
    answered = 0
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        result = await answer_line(engine, line)
        out.write(_dump(result) + "\n")
        out.flush()
        answered += 1
    return answered
