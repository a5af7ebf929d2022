"""Webhook mode: a real HTTP server on loopback; only requests with the secret are handled."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
import tornado.httpserver

from bot.channels.telegram import MAX_WEBHOOK_BODY, TelegramChannel, webhook_app
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
        http = tornado.httpserver.HTTPServer(
            webhook_app(app, SECRET), max_body_size=MAX_WEBHOOK_BODY
        )
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


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'"hello"',
        b"42",
        b"null",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["array", "string", "number", "null", "deeply nested"],
)
async def test_json_that_is_not_an_update_gets_400(server, body):
    port, _record = server
    assert await asyncio.to_thread(post, port, body, SECRET) == 400
    assert await asyncio.to_thread(post, port, update("/help", 3), SECRET) == 200


def _send_headers_only(port: int, secret: str | None, length: int) -> bytes:
    """Send the headers of a huge POST without its body; return what the server says."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
        if secret is not None:
            head += f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"
        sock.sendall((head + "\r\n").encode())
        sock.settimeout(5)
        try:
            return sock.recv(200)
        except (TimeoutError, ConnectionError):
            return b""


async def test_a_wrong_secret_is_refused_before_the_body_is_read(server):
    port, _ = server
    answer = await asyncio.to_thread(_send_headers_only, port, "wrong", 100_000_000)
    assert answer.startswith(b"HTTP/1.1 403")


async def test_a_body_over_the_limit_is_refused(server):
    port, record = server
    try:
        status = await asyncio.to_thread(post, port, b"x" * (MAX_WEBHOOK_BODY + 10), SECRET)
    except urllib.error.URLError:
        status = 0  # the server closed the connection: refused without reading it all
    assert status != 200
    await asyncio.sleep(0.3)
    assert record.sent() == []
    assert await asyncio.to_thread(post, port, update("/help", 4), SECRET) == 200
