"""Webhook mode: a real HTTP server on loopback; only requests with the secret are handled."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
import tornado.httpserver

from bot.channels.telegram import TelegramChannel, webhook_app
from tests.test_telegram import TOKEN, RecordingRequest, message

SECRET = "s3cret_TOKEN-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
async def server(engine):
    channel = TelegramChannel(engine)
    record = RecordingRequest()
    app = channel.build(
        TOKEN,
        request=record,
        get_updates_request=RecordingRequest(),
        with_updater=False,
        rate_limiter=False,
    )
    port = free_port()
    async with app:
        await app.start()
        http = tornado.httpserver.HTTPServer(webhook_app(app, SECRET))
        http.listen(port, address="127.0.0.1")
        try:
            yield port, record
        finally:
            http.stop()
            await app.stop()


def update(text: str, update_id: int = 1) -> bytes:
    return json.dumps({"update_id": update_id, "message": message(42, text)}).encode()


async def wait_for_sends(record: RecordingRequest, count: int) -> None:
    for _ in range(200):
        if len(record.sent()) >= count:
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_requests_without_the_right_secret_are_refused(server, secret):
    port, record = server
    status = await asyncio.to_thread(post, port, update("/start"), secret)
    assert status == 403
    await asyncio.sleep(0.3)
    assert record.sent() == []  # nothing was processed


async def test_requests_with_the_secret_are_handled(server):
    port, record = server
    status = await asyncio.to_thread(post, port, update("/start"), SECRET)
    assert status == 200
    await wait_for_sends(record, 1)
    assert any("not a person" in p["text"] for p in record.sent())


async def test_bad_json_with_the_secret_gets_400_not_a_crash(server):
    port, record = server
    assert await asyncio.to_thread(post, port, b"{not json", SECRET) == 400
    status = await asyncio.to_thread(post, port, update("/help", 2), SECRET)
    assert status == 200
    await wait_for_sends(record, 1)
    assert record.sent()
