"""Rasa's REST channel contract, without the HTTP: request in, bot messages out.

In:  {"sender": "...", "message": "...", "metadata": {...}}   (metadata is accepted and unused)
Out: [{"recipient_id": "...", "text": "...", "buttons": [{"title", "payload"} | {"title",
     "url"}], "image": "data:..."}]

The same contract as Rasa's ``POST /webhooks/rest/webhook``, so Rasa's own clients and test
tools work against the bot. The web chat page (bot/channels/web.py) is one such client.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels import explain
from bot.engine import Engine

CHANNEL = "rest"
# Long on purpose: the safety net reads the whole message, and a crisis said at the end of a
# long message must not be turned away as too long. Only what goes to NLU is cut.
MAX_MESSAGE = 20_000


class RestRequestError(ValueError):
    """A request the channel cannot answer, with a reason a developer can act on."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RestRequest(BaseModel):
    """One message to the bot."""

    model_config = ConfigDict(extra="ignore")

    sender: str = Field(min_length=1, max_length=128)
    message: str
    metadata: dict[str, Any] | None = None

    @field_validator("sender")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable() or not value.strip():
            raise ValueError("sender must be printable text")
        return value


def parse_request(body: bytes) -> RestRequest:
    """The request, or RestRequestError saying what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RestRequestError(400, "the body must be UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise RestRequestError(400, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise RestRequestError(400, "not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # for example an integer with thousands of digits
        raise RestRequestError(400, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RestRequestError(400, 'the body must be a JSON object like {"sender", "message"}')
    try:
        request = RestRequest.model_validate(data)
    except ValidationError as exc:
        raise RestRequestError(400, explain(exc)) from None
    if len(request.message) > MAX_MESSAGE:
        raise RestRequestError(413, f"the message is longer than {MAX_MESSAGE:,} characters")
    try:
        request.message.encode("utf-8")
    except UnicodeEncodeError:
        raise RestRequestError(400, "message: contains characters that are not text") from None
    return request


async def answer(engine: Engine, request: RestRequest) -> list[dict[str, Any]]:
    """The bot's messages for one request, in the REST channel's shape."""
    replies = await engine.handle(CHANNEL, request.sender, request.message)
    return [reply.as_rest(request.sender) for reply in replies]
