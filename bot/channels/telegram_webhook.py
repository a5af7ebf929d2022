"""Telegram's webhook: the secret check, the size cap and the route that queues updates for
python-telegram-bot, on any tornado server (`run --webhook`'s own, or `serve`'s beside the
web chat, which is why this is not PTB's run_webhook: that cannot share a port).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
WEBHOOK_PATH = "/telegram"


def webhook_secret() -> str:
    """A secret token for the webhook header: 64 characters of A-Z a-z 0-9 _ -."""
    return secrets.token_urlsafe(48)


def secret_matches(expected: str, given: str | None) -> bool:
    """Compare the webhook header with the secret in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


# Telegram's updates are small; a body over this is refused before it is read.
MAX_WEBHOOK_BODY = 1_048_576


@tornado.web.stream_request_body
class _WebhookHandler(tornado.web.RequestHandler):
    """Receives updates; refuses any request without the right secret header.

    The secret is checked from the headers, before any of the body is read, and the body is
    capped at MAX_WEBHOOK_BODY, so a stranger cannot make the bot read 100 MB.
    """

    def initialize(self, app: Application, secret: str) -> None:
        self.app = app
        self.secret = secret
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if not secret_matches(self.secret, given):
            self.set_status(403)
            self.finish({"ok": False, "description": "Forbidden"})
            return
        self.request.connection.set_max_body_size(MAX_WEBHOOK_BODY)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self.body.extend(chunk)

    async def post(self) -> None:
        try:
            data = json.loads(bytes(self.body))
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            log.info("webhook: a bad update was refused (%s)", type(error).__name__)
            self.set_status(400)
            self.finish({"ok": False, "description": "Bad Request"})
            return
        if update is not None:
            await self.app.update_queue.put(update)
        self.set_status(200)
        self.finish({"ok": True})


def webhook_route(
    app: Application, secret: str, path: str = WEBHOOK_PATH
) -> tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]:
    """The route that receives Telegram's updates, for any tornado application."""
    return (path, _WebhookHandler, {"app": app, "secret": secret})


def webhook_app(
    app: Application, secret: str, path: str = WEBHOOK_PATH
) -> tornado.web.Application:
    """The web application that receives Telegram's updates on one path."""
    return tornado.web.Application([webhook_route(app, secret, path)])


@contextlib.asynccontextmanager
async def webhook_running(
    channel: TelegramChannel, app: Application, public_url: str, secret: str
) -> AsyncIterator[None]:
    """The Telegram application started and its webhook registered, for a server's lifetime.

    The caller serves ``webhook_route`` (on its own server or `serve`'s); updates are queued
    to the application, which answers them.
    """
    async with app:
        await channel._post_init(app)
        await app.start()
        try:
            await app.bot.set_webhook(
                url=public_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            yield
        finally:
            await app.stop()


async def serve_webhook(
    channel: TelegramChannel,
    app: Application,
    public_url: str,
    listen: str,
    port: int,
    secret: str,
    stop: asyncio.Event,
) -> None:
    """Serve the webhook until ``stop`` is set; register it with Telegram first."""
    server = tornado.httpserver.HTTPServer(
        webhook_app(app, secret), max_body_size=MAX_WEBHOOK_BODY
    )
    server.listen(port, address=listen)
    try:
        async with webhook_running(channel, app, public_url, secret):
            await stop.wait()
    finally:
        server.stop()
