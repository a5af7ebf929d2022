"""Running custom actions: in process through rasa-sdk's ActionExecutor, or over HTTP.

Both take the same request a Rasa server sends (``next_action``, ``sender_id``, ``tracker``,
``domain``, ``version``) and give back the same response (``events``, ``responses``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Any, Protocol

from rasa_sdk.executor import ActionExecutor

from bot.action_config import ActionConfig, configured

log = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"


class ActionFailed(Exception):
    """A custom action could not run or returned something unusable."""


class ActionClient(Protocol):
    """Something that runs custom actions."""

    async def run(self, action_call: dict[str, Any]) -> dict[str, Any]:
        """Run the action named in the call and return its events and responses."""
        ...

    def names(self) -> set[str]:
        """The actions it can run."""
        ...


class InProcessActions:
    """Runs the actions package in this process with rasa-sdk's own executor."""

    def __init__(self, package: str = "actions", config: ActionConfig | None = None) -> None:
        self.executor = ActionExecutor()
        self.executor.register_package(package)
        # The content and sites the actions read; None: the process's own settings.
        self.config = config

    def names(self) -> set[str]:
        """Every registered action name."""
        return {item.name for item in self.executor.list_actions()}

    async def run(self, action_call: dict[str, Any]) -> dict[str, Any]:
        """Run one action exactly as the action server's /webhook would."""
        # The executor's Tracker shares the call's slots and events and form validation
        # adds to them; a copy of the tracker (through JSON, as the server sees it) leaves
        # the caller's call untouched, as it is over HTTP. The domain is only read by
        # actions, and copying it on every call cost more than the action itself.
        call = dict(action_call)
        call["tracker"] = json.loads(json.dumps(action_call["tracker"]))
        try:
            if self.config is None:
                result = await self.executor.run(call)
            else:
                with configured(self.config):
                    result = await self.executor.run(call)
        except Exception as exc:
            # Only the type is logged: the tracker may hold what a person typed.
            log.error("action %s failed: %s", action_call.get("next_action"), type(exc).__name__)
            raise ActionFailed(str(action_call.get("next_action"))) from exc
        if result is None:
            raise ActionFailed("no action named in the call")
        return result.model_dump(mode="json")


class HttpActions:
    """Calls a separate action server (``python -m rasa_sdk --actions actions``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the action endpoint must be an http(s) URL, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def names(self) -> set[str]:
        """The actions the server lists."""
        url = f"{self.url}/actions"
        # The scheme is checked to be http(s) in __init__.
        with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
            return {item["name"] for item in json.load(response)}

    def _post(self, action_call: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            f"{self.url}/webhook",
            data=json.dumps(action_call).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.load(response)
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            log.error("action server call failed: %s", type(exc).__name__)
            raise ActionFailed(str(action_call.get("next_action"))) from exc

    async def run(self, action_call: dict[str, Any]) -> dict[str, Any]:
        """POST the call to the server's /webhook."""
        return await asyncio.to_thread(self._post, action_call)


def build_action_call(
    action: str, tracker: dict[str, Any], domain: dict[str, Any]
) -> dict[str, Any]:
    """The request body Rasa sends to an action server."""
    return {
        "next_action": action,
        "sender_id": tracker["sender_id"],
        "tracker": tracker,
        "domain": domain,
        "version": RASA_VERSION,
    }
