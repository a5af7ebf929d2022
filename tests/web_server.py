"""A real web server on a free loopback port, for the web channel's HTTP and browser tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.channels.web import REST_PATH, WebConfig, build_app, start_server
from bot.engine import Engine


@dataclass
class Server:
    url: str
    engine: Engine
    client: httpx.AsyncClient

    async def say(self, sender: str, message: str, **headers: str) -> httpx.Response:
        return await self.client.post(
            self.url + REST_PATH, json={"sender": sender, "message": message}, headers=headers
        )


@pytest.fixture
async def start_web(make_engine: Callable[..., Engine]) -> AsyncIterator[Callable[..., Any]]:
    """Start real servers on free loopback ports, each with the given WebConfig."""
    started: list[Any] = []
    clients: list[httpx.AsyncClient] = []

    async def start(config: WebConfig | None = None, extra: list | None = None) -> Server:
        engine = make_engine()
        app = build_app(engine, config or WebConfig(), extra or [])
        server, port = start_server(app, "127.0.0.1", 0)
        started.append(server)
        client = httpx.AsyncClient(timeout=30)
        clients.append(client)
        return Server(f"http://127.0.0.1:{port}", engine, client)

    yield start
    for client in clients:
        await client.aclose()
    for server in started:
        server.stop()


@pytest.fixture
async def web(start_web: Callable[..., Any]) -> Server:
    return await start_web()
