"""End to end on Telegram: the real `mutual-aid-bot run` process against the fake Bot API.

The test plays a person in a private chat: a signed start link from a site, a button, a
crisis message, the referral handoff, a sticker and /forget; then it restarts the bot on the
same data folder and checks the chat still works. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_bot_api import FakeBotApi, iter_buttons

pytest.importorskip("bot.channels.telegram")

from bot.settings import PROJECT_DIR

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("mutual-aid-bot")
TOKEN = "987654321:AAE2eFakeTokenForTests_abcdefghijkl"
CHAT = 55_501_234
STARTUP_SECONDS = 180.0  # the first run trains the NLU model
REPLY_SECONDS = 30.0
SETTLE_SECONDS = 0.8  # a turn's replies are in when none has come for this long


class BotProcess:
    """`mutual-aid-bot run` in its own process group, with its output in files."""

    def __init__(self, api: FakeBotApi, data_dir: Path, models_dir: Path, logs: Path) -> None:
        self.api = api
        self.data_dir = data_dir
        self.models_dir = models_dir
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MUTUAL_AID_", "TELEGRAM_", "PTB_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=self.api.base_url,
            MUTUAL_AID_MODELS_DIR=str(self.models_dir),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> None:
        self.runs += 1
        polls_before = len(self.api.calls("getUpdates"))
        out = (self.logs / f"run{self.runs}.out").open("wb")
        err = (self.logs / f"run{self.runs}.err").open("wb")
        with out, err:
            self.process = subprocess.Popen(
                [str(CLI), "run", "--data-dir", str(self.data_dir)],
                cwd=PROJECT_DIR,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

        def polling(api: FakeBotApi) -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited with {self.process.returncode}:\n{self.output()}"
                )
            return len(api.calls("getUpdates")) > polls_before

        self.api.wait_for(polling, timeout=STARTUP_SECONDS, what="the bot to start polling")

    def stop(self) -> None:
        """SIGTERM the group (a graceful stop), then SIGKILL if it hangs."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        parts = []
        for path in sorted(self.logs.glob("run*.*")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN, username="RiversideHelperBot") as fake:
        yield fake


@pytest.fixture
def bot(api: FakeBotApi, tmp_path: Path, models_dir: Path) -> Iterator[BotProcess]:
    logs = tmp_path / "logs"
    logs.mkdir()
    process = BotProcess(api, tmp_path / "data", models_dir, logs)
    try:
        yield process
    finally:
        process.stop()
        if process.process is not None and process.process.poll() is None:
            os.killpg(process.process.pid, signal.SIGKILL)


def _link_payload(data_dir: Path, env: dict[str, str]) -> str:
    run = subprocess.run(
        [str(CLI), "link", "riverside", "--json", "--data-dir", str(data_dir)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)["payload"]


class Person:
    """One person in a private chat with the bot."""

    def __init__(self, api: FakeBotApi, bot: BotProcess, chat_id: int) -> None:
        self.api = api
        self.bot = bot
        self.chat_id = chat_id

    def seen(self) -> int:
        return len(self.api.bot_messages(self.chat_id))

    def new_messages(self, since: int, until: Any = None, what: str = "a reply") -> list[dict]:
        """Bot messages after index ``since``: once there is one (and ``until`` holds), and
        no more have come for SETTLE_SECONDS, so one turn's replies are all in."""
        state = {"count": -1, "since": 0.0}

        def ready(api: FakeBotApi) -> list[dict] | None:
            if not self.bot.alive():
                raise AssertionError(f"the bot process died:\n{self.bot.output()}")
            fresh = api.bot_messages(self.chat_id)[since:]
            if not fresh or (until is not None and not until(fresh)):
                return None
            if len(fresh) != state["count"]:
                state["count"], state["since"] = len(fresh), time.monotonic()
                return None
            return fresh if time.monotonic() - state["since"] >= SETTLE_SECONDS else None

        return self.api.wait_for(ready, timeout=REPLY_SECONDS, what=what)

    def says(self, text: str, until: Any = None, what: str = "") -> list[dict]:
        before = self.seen()
        self.api.user_sends_text(self.chat_id, text)
        return self.new_messages(before, until, what or f"a reply to {text!r}")

    def presses(
        self, message: dict, title: str | None = None, until: Any = None
    ) -> tuple[str, list[dict]]:
        """Press a button (by title, or the first payload button); returns (query id, replies)."""
        buttons = [b for b in iter_buttons(message) if "callback_data" in b]
        if title is not None:
            buttons = [b for b in buttons if b["text"] == title]
        assert buttons, f"no button {title!r} on {message}"
        before = self.seen()
        query_id = self.api.user_presses(
            self.chat_id, message["message_id"], buttons[0]["callback_data"]
        )
        return query_id, self.new_messages(before, until, f"a reply to the button {title!r}")


def _text(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


def _latest_keyboard(messages: list[dict]) -> dict | None:
    with_buttons = [m for m in messages if any("callback_data" in b for b in iter_buttons(m))]
    return with_buttons[-1] if with_buttons else None


def test_a_person_talks_to_the_real_bot_through_telegram(
    api: FakeBotApi, bot: BotProcess, tmp_path: Path
) -> None:
    payload = _link_payload(bot.data_dir, bot.env())
    bot.start()
    person = Person(api, bot, CHAT)

    # A signed start link from Riverside Surgery: a welcome that names it, with buttons.
    welcome = person.says(
        f"/start {payload}",
        until=lambda fresh: "Riverside Surgery" in _text(fresh) and _latest_keyboard(fresh),
        what="a welcome naming Riverside Surgery with an inline keyboard",
    )
    menu = _latest_keyboard(welcome)
    assert menu is not None

    # A button: answered, its keyboard removed, and a reply.
    query_id, replies = person.presses(menu)
    api.wait_for(lambda a: query_id in a.answered_callback_queries(), what="answerCallbackQuery")

    def keyboard_removed(a: FakeBotApi) -> bool:
        [pressed] = [m for m in a.bot_messages(CHAT) if m["message_id"] == menu["message_id"]]
        return "reply_markup" not in pressed

    api.wait_for(keyboard_removed, what="the pressed keyboard removed")
    edits = [
        c.params
        for c in api.calls("editMessageReplyMarkup")
        if c.params.get("message_id") == menu["message_id"]
    ]
    assert edits, api.dump()
    assert _text(replies).strip()

    # Crisis: signposting with Samaritans and 999, whatever else is going on.
    crisis = person.says(
        "i want to kill myself",
        until=lambda fresh: "116 123" in _text(fresh) and "999" in _text(fresh),
        what="crisis signposting with 116 123 and 999",
    )
    assert "116 123" in _text(crisis)

    # The referral handoff: buttons through to the site's form, as a URL button.
    def form_button(fresh: list[dict]) -> bool:
        return any(
            str(b.get("url", "")).startswith("https://forms.example.org/riverside")
            for m in fresh
            for b in iter_buttons(m)
        )

    replies = person.says("/request_referral", until=_latest_keyboard, what="referral consent")
    for _ in range(6):
        keyboard = _latest_keyboard(replies)
        assert keyboard is not None, f"no buttons on the way to the form: {replies}"
        titles = [b["text"] for b in iter_buttons(keyboard)]
        if "Yes, open the form" in titles:
            person.presses(keyboard, "Yes, open the form", until=form_button)
            break
        _, replies = person.presses(keyboard)
    else:
        pytest.fail(f"never offered 'Yes, open the form':\n{api.dump()}")

    # A sticker: a kind text reply, and the bot lives on.
    before = person.seen()
    api.user_sends_sticker(CHAT)
    sticker_reply = person.new_messages(before, what="a reply to a sticker")
    assert "text" in sticker_reply[0]
    assert bot.alive()

    # /forget: the confirmation.
    forgotten = person.says(
        "/forget",
        until=lambda fresh: "deleted" in _text(fresh).lower(),
        what="the /forget confirmation",
    )
    assert forgotten

    # Restart on the same data folder: the chat goes on.
    bot.stop()
    assert bot.process is not None
    assert bot.process.returncode is not None
    bot.start()
    helped = person.says("/help", what="a reply to /help after a restart")
    assert _text(helped).strip()
    bot.stop()

    # What the bot asked of Telegram.
    assert api.calls("getMe"), api.dump()
    default_menus = [
        c.params
        for c in api.calls("setMyCommands")
        if (c.params.get("scope") or {"type": "default"}) == {"type": "default"}
    ]
    assert default_menus, api.dump()
    assert {c["command"] for c in default_menus[-1]["commands"]} >= {"help", "restart", "forget"}
    assert api.calls("deleteWebhook"), "polling must delete any webhook first"
    allowed = [
        c.params["allowed_updates"]
        for c in api.calls("getUpdates")
        if "allowed_updates" in c.params
    ]
    assert allowed, "getUpdates never said which updates it wants"
    assert {"message", "callback_query"} <= set(allowed[-1])
    assert api.conflicts == 0 or bot.runs == 2  # a restart may end the old long poll

    # Every answerCallbackQuery referred to a query the server issued (else it got a 400).
    assert all(
        c.params["callback_query_id"] in api.answered_callback_queries()
        for c in api.calls("answerCallbackQuery")
    ), api.dump()

    # The token never appears in the bot's output.
    output = bot.output()
    assert TOKEN not in output
    assert TOKEN.split(":", 1)[1] not in output


def _start_chat(api: FakeBotApi, bot: BotProcess, chat_id: int = CHAT) -> Person:
    payload = _link_payload(bot.data_dir, bot.env())
    bot.start()
    person = Person(api, bot, chat_id)
    person.says(
        f"/start {payload}",
        until=lambda fresh: "Riverside Surgery" in _text(fresh),
        what="the welcome",
    )
    return person


def test_replies_keep_their_order_when_a_person_types_quickly(
    api: FakeBotApi, bot: BotProcess
) -> None:
    """A second message while the first turn's replies are still going out: the person must
    see every reply to the first before any reply to the second (a crisis reply above all)."""
    person = _start_chat(api, bot)
    menu = _latest_keyboard(api.bot_messages(CHAT))
    assert menu is not None
    groups = next(b for b in iter_buttons(menu) if b["text"] == "What groups are there?")
    before = person.seen()
    api.user_presses(CHAT, menu["message_id"], groups["callback_data"])
    api.user_sends_text(CHAT, "i want to kill myself")  # at once, as people do
    fresh = person.new_messages(
        before,
        until=lambda f: "116 123" in _text(f) and "Which one" in _text(f),
        what="replies to the button and to the crisis message",
    )
    texts = [m.get("text", "") for m in fresh]
    last_of_first_turn = max(i for i, t in enumerate(texts) if "Which one" in t)
    first_of_crisis = min(i for i, t in enumerate(texts) if "116 123" in t)
    assert last_of_first_turn < first_of_crisis, (
        "the replies to the button and to the message after it are reordered or interleaved:\n"
        + "\n".join(f"{i}: {t[:70]!r}" for i, t in enumerate(texts))
    )


def test_the_bot_survives_telegram_errors_and_odd_updates(
    api: FakeBotApi, bot: BotProcess
) -> None:
    """429 and 502 from the API, a blocked chat, a group, an edit: no reply lost, no crash."""
    person = _start_chat(api, bot)

    api.fail_next("sendMessage", error_code=429, retry_after=1)
    helped = person.says("/help", what="a reply to /help despite a 429")
    assert "support groups" in _text(helped)

    api.fail_next("getUpdates", status=502)
    api.fail_next("getUpdates", status=502)
    helped = person.says("/help", what="a reply after getUpdates failed with 502 twice")
    # The same question twice running: the second answer offers other ways on (no loops).
    assert "said just now" in _text(helped)

    # An edited message is ignored silently; the bot answers the next message as usual.
    before = person.seen()
    sent = api.user_sends_text(CHAT, "hello")
    person.new_messages(before, what="a reply to hello")
    before = person.seen()
    api.user_edits_message(CHAT, sent["message"]["message_id"], "i want to kill myself")
    person.says("/help", what="a reply after an edit")
    assert "116 123" not in _text(api.bot_messages(CHAT)[before:])

    # A group: a notice, then the bot leaves.
    api.group_message(-100_777, "hello bot")
    api.wait_for(
        lambda a: [c for c in a.calls("leaveChat") if c.params.get("chat_id") == -100_777],
        what="the bot to leave the group",
    )

    # Another person blocks the bot while a reply is on its way (403), then the block's
    # my_chat_member update arrives: an opt-out each time, and no crash.
    other = Person(api, bot, CHAT + 1)
    other.says("/help", what="a reply to the second person")
    api.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    api.user_sends_text(CHAT + 1, "what groups are there?")
    api.wait_for(
        lambda a: any(entry["status"] == 403 for entry in a.log("sendMessage")),
        what="a 403 for the blocked chat",
    )
    api.user_blocks_bot(CHAT + 1)
    api.wait_for(lambda a: not a.pending_updates, what="the my_chat_member update taken")
    assert bot.alive()
    person.says("/help", what="the first person still gets replies")

    output = bot.output()
    assert TOKEN not in output
    assert TOKEN.split(":", 1)[1] not in output
    # PTB logs a proxy's 502 page with a traceback of its own; none may come from bot/.
    assert f'File "{PROJECT_DIR / "bot"}' not in output, output
