"""The web server (bot/channels/web.py) over real HTTP on 127.0.0.1: the REST contract, bad
requests, size and rate limits, security headers, CORS, health, and erasure."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from bot.channels.rest import CHANNEL, MAX_MESSAGE
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel, webhook_route
from bot.channels.web import MAX_REST_BODY, REST_PATH, WebConfig
from tests.web_server import Server

# -- the REST contract -----------------------------------------------------------------------


async def test_rest_channel_answers_in_rasas_shape(web: Server):
    response = await web.say("someone-1", "hello")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    messages = response.json()
    assert isinstance(messages, list)
    assert messages
    for message in messages:
        assert message["recipient_id"] == "someone-1"
        assert isinstance(message["text"], str)
        assert message["text"]
        for button in message.get("buttons", []):
            assert set(button) in ({"title", "payload"}, {"title", "url"})


async def test_a_button_payload_sent_back_is_pressing_it(web: Server):
    first = (await web.say("someone-2", "hello")).json()
    payload = next(b["payload"] for m in first for b in m.get("buttons", []) if "payload" in b)
    response = await web.say("someone-2", payload)
    assert response.status_code == 200
    assert response.json()[0]["text"]


async def test_metadata_is_accepted_as_in_rasa(web: Server):
    response = await web.client.post(
        web.url + REST_PATH,
        json={"sender": "someone-3", "message": "hi", "metadata": {"source": "kiosk"}},
    )
    assert response.status_code == 200


async def test_a_crisis_gets_emergency_signposting_first(web: Server):
    await web.say("someone-4", "hello")
    response = await web.say("someone-4", "i have taken all my tablets and i feel really weird")
    first = response.json()[0]["text"]
    assert "999" in first.split("\n")[0] or "999" in first[:200]


async def test_a_start_payload_from_a_staff_link_opens_the_sites_chat(web: Server):
    from datetime import timedelta

    payload = web.engine.links.make_payload("riverside", timedelta(days=1))
    response = await web.say("someone-5", f"/start {payload}")
    assert response.status_code == 200
    assert "Riverside" in " ".join(m["text"] for m in response.json())


async def test_forget_erases_the_chat(web: Server):
    await web.say("someone-6", "hello")
    conversation = web.engine.conversation_id(CHANNEL, "someone-6")
    assert web.engine.store.load(conversation) is not None
    response = await web.say("someone-6", "/forget")
    assert response.status_code == 200
    assert web.engine.store.load(conversation) is None


# -- bad requests: a clear JSON answer, never a traceback ------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"hello"', "JSON object"),
        (b'{"sender": "a"}', "message"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "", "message": "hi"}', "sender"),
        (b'{"sender": "a", "message": 5}', "message"),
        (b'{"sender": "' + b"x" * 200 + b'", "message": "hi"}', "sender"),
        (b'{"sender": "a\\u0000b", "message": "hi"}', "sender"),
        (b'{"sender": "a", "message": "\\ud800"}', "not text"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
async def test_bad_bodies_get_400_with_a_reason(web: Server, body: bytes, expected: str):
    response = await web.client.post(
        web.url + REST_PATH, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert expected in error
    assert "Traceback" not in response.text


async def test_a_body_over_the_cap_is_refused_with_413(web: Server):
    big = json.dumps({"sender": "a", "message": "x" * (MAX_REST_BODY + 10)})
    response = await web.client.post(web.url + REST_PATH, content=big)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


async def test_a_streamed_body_over_the_cap_is_refused(web: Server):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 16_384

    # The server stops reading at the cap: a 413, or the connection closed on the sender.
    try:
        response = await web.client.post(web.url + REST_PATH, content=chunks())
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
        pass
    else:
        assert response.status_code == 413
    assert (await web.say("after-flood", "hello")).status_code == 200


async def test_a_message_over_the_length_limit_gets_413(web: Server):
    response = await web.say("someone-7", "a" * (MAX_MESSAGE + 1))
    assert response.status_code == 413
    assert "longer than" in response.json()["error"]


async def test_a_long_message_with_a_crisis_at_the_end_is_still_read(web: Server):
    message = "I wanted to ask about groups near me. " * 100 + "I have just taken an overdose"
    response = await web.say("someone-8", message)
    assert response.status_code == 200
    assert "999" in response.json()[0]["text"]


async def test_only_post_is_allowed_on_the_rest_channel(web: Server):
    response = await web.client.get(web.url + REST_PATH)
    assert response.status_code == 405
    assert "POST" in response.json()["error"]


async def test_unknown_paths_get_a_json_404(web: Server):
    for path in ("/nope", "/static/../bot.db", "/static/index.html", "/admin"):
        response = await web.client.get(web.url + path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not found"} or "error" in response.json()


async def test_a_failing_turn_is_a_500_and_the_server_goes_on(web: Server, monkeypatch):
    async def broken(*args: object) -> list:
        raise RuntimeError("secret detail")

    with monkeypatch.context() as patch:
        patch.setattr(web.engine, "handle", broken)
        response = await web.say("someone-9", "hello")
    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert (await web.say("someone-9", "hello")).status_code == 200


# -- rate limits -----------------------------------------------------------------------------


async def test_one_sender_is_rate_limited(start_web: Callable[..., Any]):
    server = await start_web(WebConfig(rate_per_sender=4))  # a burst of 1, then 1 each 15 s
    assert (await server.say("fast", "hello")).status_code == 200
    response = await server.say("fast", "hello again")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "wait" in response.json()["error"]
    # Someone else is not held up by that sender.
    assert (await server.say("patient", "hello")).status_code == 200


async def test_one_address_is_rate_limited_across_senders(start_web):
    server = await start_web(WebConfig(rate_per_address=8))  # a burst of 2
    codes = [(await server.say(f"sender-{i}", "hello")).status_code for i in range(4)]
    assert codes[:2] == [200, 200]
    assert 429 in codes[2:]


# -- headers, the page, health ---------------------------------------------------------------


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.urls: list[str] = []
        self.labels: set[str] = set()
        self.ids: set[str] = set()
        self.html_lang: str | None = None
        self._in_script = False
        self.style_attrs = 0
        self.handlers = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True
        if tag == "label" and values.get("for"):
            self.labels.add(values["for"] or "")
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name] or "")
        self.style_attrs += "style" in values
        self.handlers += sum(1 for name in values if name.startswith("on"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


async def test_the_page_has_strict_security_headers(web: Server):
    response = await web.client.get(web.url + "/")
    assert response.status_code == 200
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers


async def test_frames_are_allowed_only_where_configured(start_web):
    server = await start_web(WebConfig(frame_ancestors=("https://www.riverside.example",)))
    response = await server.client.get(server.url + "/")
    assert (
        "frame-ancestors https://www.riverside.example"
        in (response.headers["content-security-policy"])
    )
    assert "x-frame-options" not in response.headers


async def test_the_page_is_self_contained_and_labelled(web: Server):
    page = (await web.client.get(web.url + "/?start=abc")).text
    parser = _PageParser()
    parser.feed(page)
    assert parser.html_lang == "en-GB"
    assert parser.scripts
    assert all(script.get("src") for script in parser.scripts)
    assert not parser.inline_script
    assert parser.handlers == 0  # no onclick= and the like: the CSP would block them
    assert parser.style_attrs == 0
    for url in parser.urls:
        assert url.startswith(("/", "#", "tel:", "data:")), f"the page loads {url}"
    assert "message" in parser.labels
    assert {"log", "message", "forget", "help"} <= parser.ids
    assert 'role="log"' in page
    assert 'aria-live="polite"' in page
    assert "999" in page  # the help section works even if the script does not


async def test_the_script_and_style_are_served_with_nosniff(web: Server):
    for path, kind in (("/static/chat.js", "javascript"), ("/static/chat.css", "css")):
        response = await web.client.get(web.url + path)
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_health_says_ok_and_nothing_else(web: Server):
    response = await web.client.get(web.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- CORS ------------------------------------------------------------------------------------


async def test_cors_is_only_for_configured_origins(start_web):
    allowed = "https://www.riverside.example"
    server = await start_web(WebConfig(allowed_origins=(allowed,)))
    url = server.url + REST_PATH
    preflight = {"Origin": allowed, "Access-Control-Request-Method": "POST"}
    response = await server.client.options(url, headers=preflight)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == allowed
    response = await server.say("cors-1", "hello", Origin=allowed)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == allowed

    stranger = "https://evil.example"
    response = await server.client.options(url, headers={**preflight, "Origin": stranger})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    response = await server.say("cors-2", "hello", Origin=stranger)
    assert response.status_code == 403


async def test_the_page_itself_may_call_the_channel(web: Server):
    own = web.url  # the browser sends the page's own origin
    response = await web.say("same-origin", "hello", Origin=own)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


# -- privacy and the Telegram webhook on the same server -------------------------------------


async def test_what_people_type_is_not_logged(web: Server, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    marker = "zebracrossing-quartz-4471"
    await web.say("private-1", f"my name is {marker} and i drink")
    await web.client.post(web.url + REST_PATH, content=f'{{"sender": "{marker}"'.encode())
    assert marker not in caplog.text
    server_side = [r.getMessage() for r in caplog.records if r.name.startswith(("bot", "tornado"))]
    assert not any("127.0.0.1" in line for line in server_side)  # nor are addresses


async def test_the_telegram_webhook_can_share_the_server(start_web, make_engine):
    engine = make_engine()
    ptb_app = TelegramChannel(engine).build("123456:TEST-token", base_url="http://127.0.0.1:9/")
    server = await start_web(extra=[webhook_route(ptb_app, "right-secret")])
    url = server.url + WEBHOOK_PATH
    response = await server.client.post(
        url, json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
    )
    assert response.status_code == 403
    assert re.search(r"forbidden", response.text, re.IGNORECASE)
