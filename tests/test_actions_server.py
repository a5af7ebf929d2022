"""The real action server (`python -m rasa_sdk --actions actions`) answers exactly as the
in-process executor does: same request, same response, and the same replies in a chat.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine.actions import (
    ActionFailed,
    HttpActions,
    InProcessActions,
    build_action_call,
)
from bot.settings import PROJECT_DIR
from tests.helpers import payloads, say, texts

pytestmark = pytest.mark.slow

START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return json.load(response) == {"status": "ok"}
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server and its Sanic worker (its own process group), then reap it."""
    if process.poll() is None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    process.wait()


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real rasa-sdk action server on 127.0.0.1 with one Sanic worker; its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("action_server") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env |= {
        "SANIC_HOST": "127.0.0.1",
        "ACTION_SERVER_SANIC_WORKERS": "1",
        "MUTUAL_AID_CONTENT_DIR": str(PROJECT_DIR),
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"the action server did not start (exit {process.poll()}):\n{output}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(process)


class RecordingActions(InProcessActions):
    """In-process actions that keep a copy of every call the engine makes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    async def run(self, action_call: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(action_call))
        return await super().run(action_call)


async def _both(url: str, call: dict[str, Any]) -> dict[str, Any]:
    """Run one call over HTTP and in process; they must agree. Returns the response."""
    over_http = await HttpActions(url).run(copy.deepcopy(call))
    in_process = await InProcessActions().run(copy.deepcopy(call))
    assert over_http == in_process, call["next_action"]
    return over_http


def _responses(result: dict[str, Any]) -> list[str | None]:
    return [m.get("response") for m in result["responses"]]


def _slot_events(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e.get("event") == "slot"}


def test_server_lists_the_same_actions(action_server):
    names = HttpActions(action_server).names()
    assert names == InProcessActions().names()
    assert {"action_list_options", "validate_plan_form", "action_crisis_support"} <= names


async def test_calls_from_a_real_conversation_get_the_same_response(action_server, make_engine):
    recorder = RecordingActions()
    engine = make_engine(action_client=recorder)
    conversation = [
        "/start",
        "/list_options",
        '/option_details{"option": "aa"}',
        "/plan_meeting",
        '/inform{"option": "smart_recovery"}',
        "zzqx blorp vrrm",
        "I want to kill myself",
        "/get_help",
    ]
    for text in conversation:
        await say(engine, text, chat_id="recorded")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for call in recorder.calls:
        by_action.setdefault(call["next_action"], []).append(call)
    expected = {
        "action_list_options",
        "action_option_details",
        "action_ask_plan_option",
        "validate_plan_form",
        "action_fallback",
        "action_crisis_support",
    }
    assert expected <= set(by_action)

    results = {
        name: [await _both(action_server, c) for c in calls] for name, calls in by_action.items()
    }

    listed = results["action_list_options"][0]
    assert listed["responses"][-1]["buttons"][0]["payload"].startswith("/option_details")
    # The order is per chat: the sender id in the call is what decides it.
    assert recorder.calls[0]["sender_id"] == engine.conversation_id("test", "recorded")

    details = results["action_option_details"][0]
    assert _responses(details) == ["utter_option_card"]
    assert details["responses"][0]["title"] == "Alcoholics Anonymous (AA)"

    validated = results["validate_plan_form"][0]
    assert _slot_events(validated)["plan_option"] == "smart_recovery"

    assert _responses(results["action_fallback"][0]) == ["utter_fallback_rephrase"]
    crisis = results["action_crisis_support"]
    assert _responses(crisis[0]) == ["utter_crisis_suicidal_thoughts"]
    assert _responses(crisis[1]) == ["utter_get_help"]
    assert "116 123" in crisis[1]["responses"][0]["lines"]


def _call(
    engine: Any,
    action: str,
    *,
    sender: str = "hand-built",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> dict[str, Any]:
    latest = {"text": "typed", "intent": {"name": intent, "confidence": 1.0}}
    latest["entities"] = entities or []
    all_slots = engine.domain.initial_slots() | (slots or {})
    user_event = {"event": "user", "text": "typed", "parse_data": latest}
    tracker = {
        "sender_id": sender,
        "slots": all_slots,
        "latest_message": latest,
        "latest_event_time": 1_700_000_000.0,
        "followup_action": None,
        "paused": False,
        "events": [user_event, *(events or [])],
        "latest_input_channel": "test",
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action": {"action_name": "action_listen"},
        "latest_action_name": "action_listen",
    }
    return build_action_call(action, tracker, engine.dialogue.domain_dict)


async def test_hand_built_calls_get_the_same_response(action_server, engine):
    listed = await _both(
        action_server,
        _call(engine, "action_list_options", sender="sender-one", intent="list_options"),
    )
    other = await _both(
        action_server,
        _call(engine, "action_list_options", sender="sender-two", intent="list_options"),
    )
    titles = [b["title"] for b in listed["responses"][-1]["buttons"]]
    assert sorted(titles) == sorted(b["title"] for b in other["responses"][-1]["buttons"])

    option = {"entity": "option", "value": "na", "extractor": "payload"}
    details = await _both(
        action_server,
        _call(engine, "action_option_details", intent="option_details", entities=[option]),
    )
    assert details["responses"][0]["title"] == "Narcotics Anonymous (NA)"

    unknown = {"entity": "option", "value": "no_such_group", "extractor": "payload"}
    not_known = await _both(
        action_server,
        _call(engine, "action_option_details", intent="option_details", entities=[unknown]),
    )
    assert _responses(not_known) == ["utter_option_unknown"]
    assert not_known["events"][0]["event"] == "followup"

    crisis_type = {"entity": "crisis_type", "value": "overdose_other", "extractor": "safety"}
    crisis = await _both(
        action_server,
        _call(engine, "action_crisis_support", intent="crisis", entities=[crisis_type]),
    )
    assert _responses(crisis) == ["utter_crisis_overdose_other"]

    for value, kept in (("aa", "aa"), ("no_such_group", None)):
        call = _call(
            engine,
            "validate_plan_form",
            entities=[{"entity": "option", "value": value, "extractor": "payload"}],
            slots={"plan_option": value, "requested_slot": "plan_option"},
            events=[{"event": "slot", "name": "plan_option", "value": value}],
            active_loop="plan_form",
        )
        validated = await _both(action_server, call)
        assert _slot_events(validated)["plan_option"] == kept

    previous = [
        {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_fallback"},
    ]
    fallback = _call(engine, "action_fallback", intent="nlu_fallback")
    fallback["tracker"]["events"][0:0] = previous
    assert _responses(await _both(action_server, fallback)) == ["utter_fallback_menu"]


async def test_unknown_action_fails_the_same_way(action_server, engine):
    call = _call(engine, "action_that_does_not_exist")
    with pytest.raises(ActionFailed):
        await HttpActions(action_server).run(copy.deepcopy(call))
    with pytest.raises(ActionFailed):
        await InProcessActions().run(copy.deepcopy(call))


async def test_in_process_run_leaves_the_call_untouched(engine):
    call = _call(
        engine,
        "validate_plan_form",
        entities=[{"entity": "option", "value": "aa", "extractor": "payload"}],
        slots={"plan_option": "aa", "requested_slot": "plan_option"},
        events=[{"event": "slot", "name": "plan_option", "value": "aa"}],
        active_loop="plan_form",
    )
    before = copy.deepcopy(call)
    await InProcessActions().run(call)
    assert call == before


async def test_engine_over_http_gives_the_same_replies(action_server, make_engine, settings):
    local = make_engine()
    # Same data folder (so the same secret and pseudonymous ids), separate database.
    http_settings = settings.model_copy(update={"db": settings.data_dir / "http.db"})
    remote = make_engine(settings=http_settings, action_client=HttpActions(action_server))
    conversation = [
        "/start",
        "/list_options",
        '/option_details{"option": "smart_recovery"}',
        "/plan_meeting",
        '/inform{"option": "aa"}',
        '/inform{"plan_format": "online"}',
        '/inform{"plan_when": "next_week"}',
        "zzqx blorp vrrm",
        "qqqq wwww pppp",
        "i took too many pills",
    ]
    for chat_id in ("alice", "bob"):
        for text in conversation:
            mine = await say(local, text, chat_id=chat_id)
            theirs = await say(remote, text, chat_id=chat_id)
            assert [(r.text, r.buttons) for r in theirs] == [(r.text, r.buttons) for r in mine]
            assert mine, text
    summary = await say(remote, "/list_options", chat_id="carol")
    assert '/option_details{"option": "aa"}' in payloads(summary)


async def test_engine_uses_the_configured_action_endpoint(action_server, make_engine, settings):
    configured = settings.model_copy(update={"action_endpoint": f"{action_server}/"})
    engine = make_engine(settings=configured)
    assert isinstance(engine.actions, HttpActions)
    await say(engine, "/start")
    listed = await say(engine, "/list_options")
    assert '/option_details{"option": "aa"}' in payloads(listed)
    replies = await say(engine, '/option_details{"option": "aa"}')
    assert "Alcoholics Anonymous" in texts(replies)


async def test_engine_says_sorry_when_the_server_is_down(make_engine):
    engine = make_engine(action_client=HttpActions(f"http://127.0.0.1:{_free_port()}", 5))
    replies = await say(engine, "/list_options")
    assert "something went wrong" in texts(replies)
    assert "116 123" in texts(replies)


def test_http_actions_accepts_only_http_urls(tmp_path: Path):
    with pytest.raises(ValueError, match="http"):
        HttpActions(f"file://{tmp_path}")
