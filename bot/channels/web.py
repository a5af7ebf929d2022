"""The web server behind `mutual-aid-bot serve`: the web chat page, Rasa's REST channel,
a health check and, when configured, the Telegram webhook, all on one port.

Not everyone has Telegram, so the same bot runs on a plain web page. The page is served with
strict headers (a CSP without inline script, no referrer, no sniffing, frames only where
configured) and talks to the REST channel, which any Rasa REST client can use too.

Every error is a short JSON body with a 4xx or 5xx status, never a traceback. Requests are
capped in size and rate, per chat and per address; the text people type is never logged.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.template
import tornado.web

from bot.channels.rest import RestRequestError, answer, parse_request
from bot.engine import Engine
from bot.knowledge import SupportLine, WebChatWords
from bot.rate_limit import RateLimiter

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).resolve().parent / "web_page"
REST_PATH = "/webhooks/rest/webhook"
# A REST request is one message; anything much bigger is not a chat message.
MAX_REST_BODY = 262_144
# The server's own cap, for the largest route it serves (Telegram's updates, 1 MB).
MAX_SERVER_BODY = 1_048_576


@dataclass(frozen=True)
class WebConfig:
    """What a deployment sets about the web server (from Settings)."""

    allowed_origins: Sequence[str] = ()
    frame_ancestors: Sequence[str] = ()
    rate_per_sender: int = 30
    rate_per_address: int = 120
    behind_proxy: bool = False


@dataclass
class WebState:
    """What the handlers share: the engine, the page and the rate limits."""

    engine: Engine
    config: WebConfig
    page: bytes
    sender_limits: RateLimiter = field(init=False)
    address_limits: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.sender_limits = RateLimiter(self.config.rate_per_sender)
        self.address_limits = RateLimiter(self.config.rate_per_address)


def _dialable(contact: str) -> str | None:
    """A tel: number for a contact that is only digits and spaces ("116 123"), else None."""
    digits = contact.replace(" ", "")
    return digits if re.fullmatch(r"\d{3,15}", digits) else None


def render_page(words: WebChatWords, lines: Sequence[SupportLine]) -> bytes:
    """The page, rendered once: the labels from knowledge/web_chat.yml, escaped."""
    loader = tornado.template.Loader(str(PAGE_DIR), autoescape="xhtml_escape")
    help_lines = [
        {
            "name": line.name,
            "contact": line.contact.value,
            "dial": _dialable(line.contact.value),
            "hours": line.hours.value,
            "what_for": line.what_for,
        }
        for line in lines
        if line.topic == "general"
    ]
    return loader.load("index.html").generate(words=words, lines=help_lines)


def content_security_policy(frame_ancestors: Sequence[str]) -> str:
    """The page's CSP: its own script and style only, no inline code, no other hosts."""
    frames = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frames}"
    )


class _BaseHandler(tornado.web.RequestHandler):
    """Common headers and JSON errors for every route."""

    state: WebState

    def initialize(self, state: WebState) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Cross-Origin-Resource-Policy", "same-origin")

    def send_json(self, status: int, body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Never a traceback: a short reason is all a client needs.
        reason = self._reason if status_code < 500 else "the server could not answer"
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": reason.lower()}))

    def data_received(self, chunk: bytes) -> None:  # pragma: no cover - only streaming routes
        pass


class PageHandler(_BaseHandler):
    """The web chat page. ``?start=PAYLOAD`` is read by the page's own script."""

    def prepare(self) -> None:
        # Here, not in set_default_headers: that runs before initialize gives us the state.
        frames = self.state.config.frame_ancestors
        self.set_header("Content-Security-Policy", content_security_policy(frames))
        if not frames:
            self.set_header("X-Frame-Options", "DENY")
        self.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        self.set_header("Cross-Origin-Opener-Policy", "same-origin")

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(self.state.page)

    def head(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish()


class StaticHandler(tornado.web.StaticFileHandler):
    """The page's script and style, with the same strict headers."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cross-Origin-Resource-Policy", "same-origin")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": self._reason.lower()}))


class HealthHandler(_BaseHandler):
    """Liveness for a load balancer; says nothing about anyone."""

    def get(self) -> None:
        self.send_json(200, {"status": "ok"})


class NotFoundHandler(_BaseHandler):
    """Every other path."""

    def prepare(self) -> None:
        self.send_json(404, {"error": "not found"})


def _same_origin(origin: str, host: str | None) -> bool:
    parts = urlsplit(origin)
    return bool(host) and parts.netloc.lower() == (host or "").lower()


@tornado.web.stream_request_body
class RestHandler(_BaseHandler):
    """Rasa's REST channel: ``POST`` a message, get the bot's messages back."""

    def initialize(self, state: WebState) -> None:
        super().initialize(state)
        self.body = bytearray()
        self.too_big = False
        self.cors_origin: str | None = None

    def _origin_allowed(self) -> bool:
        """No Origin (a server or a tool), this site, or a configured origin."""
        origin = self.request.headers.get("Origin")
        if origin is None or _same_origin(origin, self.request.host):
            return True
        if origin in self.state.config.allowed_origins:
            self.cors_origin = origin
            return True
        return False

    def _cors_headers(self) -> None:
        if self.cors_origin:
            self.set_header("Access-Control-Allow-Origin", self.cors_origin)
            self.set_header("Vary", "Origin")

    def prepare(self) -> None:
        if self.request.method == "OPTIONS":
            return
        if self.request.method != "POST":
            self.set_header("Allow", "POST, OPTIONS")
            self.send_json(405, {"error": "use POST with a JSON body"})
            return
        if not self._origin_allowed():
            self.send_json(403, {"error": "this origin may not use the chat"})
            return
        self._cors_headers()
        wait = self.state.address_limits.wait_for(self.request.remote_ip or "")
        if wait:
            self._too_fast(wait)
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_REST_BODY):
            self.send_json(413, {"error": f"the body is larger than {MAX_REST_BODY:,} bytes"})
            return
        self.request.connection.set_max_body_size(MAX_REST_BODY)  # type: ignore[union-attr]

    def _too_fast(self, wait: float) -> None:
        self.set_header("Retry-After", str(max(1, round(wait))))
        self.send_json(429, {"error": "too many messages; wait a moment and try again"})

    def data_received(self, chunk: bytes) -> None:
        if len(self.body) + len(chunk) > MAX_REST_BODY:
            self.too_big = True
            return
        self.body.extend(chunk)

    async def post(self) -> None:
        if self.too_big:
            self.send_json(413, {"error": f"the body is larger than {MAX_REST_BODY:,} bytes"})
            return
        try:
            request = parse_request(bytes(self.body))
        except RestRequestError as error:
            self.send_json(error.status, {"error": error.reason})
            return
        wait = self.state.sender_limits.wait_for(request.sender)
        if wait:
            self._too_fast(wait)
            return
        try:
            messages = await answer(self.state.engine, request)
        except Exception as error:  # one bad turn answers 500; the server goes on
            # The type only: the message could echo what the person typed.
            log.error("REST channel: a turn failed (%s)", type(error).__name__)
            self.send_json(500, {"error": "the bot could not answer; please try again"})
            return
        self.send_json(200, messages)

    def options(self) -> None:
        """CORS preflight: only configured origins may call from another site."""
        origin = self.request.headers.get("Origin")
        if origin is None or origin not in self.state.config.allowed_origins:
            self.send_json(403, {"error": "this origin may not use the chat"})
            return
        self.set_header("Access-Control-Allow-Origin", origin)
        self.set_header("Access-Control-Allow-Methods", "POST")
        self.set_header("Access-Control-Allow-Headers", "Content-Type")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_header("Vary", "Origin")
        self.set_status(204)
        self.finish()


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Log server faults only, by route and status: no addresses, no queries, no text."""
    status = handler.get_status()
    if status >= 500:
        path = handler.request.path if handler.request.path in _KNOWN_PATHS else "(other)"
        log.error("%s %s answered %d", handler.request.method, path, status)


_KNOWN_PATHS = frozenset({"/", REST_PATH, "/healthz", "/static/chat.js", "/static/chat.css"})


def build_app(
    engine: Engine,
    config: WebConfig,
    extra_routes: Sequence[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = (),
) -> tornado.web.Application:
    """The tornado application: page, static files, REST channel, health, extra routes."""
    knowledge = engine.knowledge
    page = render_page(knowledge.web_chat, knowledge.support_lines)
    state = WebState(engine, config, page)
    routes: list[Any] = [
        (r"/", PageHandler, {"state": state}),
        (r"/static/(chat\.js|chat\.css)", StaticHandler, {"path": str(PAGE_DIR)}),
        (REST_PATH, RestHandler, {"state": state}),
        (r"/healthz", HealthHandler, {"state": state}),
        *extra_routes,
    ]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        default_handler_args={"state": state},
        compress_response=False,
        log_function=_log_request,
    )


def start_server(
    app: tornado.web.Application, host: str, port: int, behind_proxy: bool = False
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Listen on host:port (0 picks a free port); return the server and its port."""
    sockets = tornado.netutil.bind_sockets(port, address=host, family=socket.AF_UNSPEC)
    server = tornado.httpserver.HTTPServer(
        app, max_body_size=MAX_SERVER_BODY, xheaders=behind_proxy, idle_connection_timeout=60
    )
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


__all__ = [
    "MAX_REST_BODY",
    "REST_PATH",
    "WebConfig",
    "build_app",
    "content_security_policy",
    "render_page",
    "start_server",
]
