"""The Telegram channel offline: handlers driven with real PTB objects and a recording request.

As in python-telegram-bot's own tests, the network layer is replaced by a BaseRequest that
records each Bot API call and answers like Telegram; the exact calls are asserted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import CHANNEL, TelegramChannel, secret_matches, webhook_secret
from bot.engine import BotReply
from tests.helpers import say, staff_of

TOKEN = "123456:TEST-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Mutual Aid Bot",
    "username": "TestMutualAidBot",
}


class RecordingRequest(BaseRequest):
    """Answers Bot API calls like Telegram and records (method, parameters)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.message_id = 100
        self.blocked: set[int] = set()

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params))
        result: Any = True
        if endpoint == "getMe":
            result = BOT_USER
        elif endpoint in ("sendMessage", "sendPhoto"):
            chat_id = int(params["chat_id"])
            if len(str(params.get("text", ""))) > 4096:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is too long",
                }
                return 400, json.dumps(body).encode()
            if chat_id in self.blocked:
                body = {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
                return 403, json.dumps(body).encode()
            self.message_id += 1
            result = {
                "message_id": self.message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]


@pytest.fixture
async def wired(engine) -> AsyncIterator[tuple[Any, RecordingRequest, TelegramChannel]]:
    channel = TelegramChannel(engine)
    record = RecordingRequest()
    app = channel.build(
        TOKEN,
        request=record,
        get_updates_request=RecordingRequest(),
        with_updater=False,
        rate_limiter=False,
    )
    errors: list[BaseException] = []

    async def collect(update: object, context: Any) -> None:
        errors.append(context.error)

    app.add_error_handler(collect)
    async with app:
        yield app, record, channel
    assert errors == [], errors  # process_update swallows handler errors: fail on them here


def message(chat_id: int, text: str | None = None, chat_type: str = "private", **extra: Any):
    data: dict[str, Any] = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
        **extra,
    }
    if text is not None:
        data["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return data


async def feed(app: Any, data: dict[str, Any], key: str = "message", update_id: int = 1):
    await app.process_update(Update.de_json({"update_id": update_id, key: data}, app.bot))


def keyboard(params: dict[str, Any]) -> list[dict[str, str]]:
    markup = params.get("reply_markup")
    if markup is None:
        return []
    data = markup if isinstance(markup, dict) else json.loads(markup)
    return [button for row in data["inline_keyboard"] for button in row]


async def test_start_sends_the_welcome_with_an_inline_keyboard(wired):
    app, record, _ = wired
    await feed(app, message(42, "/start"))
    sent = record.sent()
    assert any("not a person" in p["text"] for p in sent)
    buttons = keyboard(sent[-1])
    assert buttons
    for button in buttons:
        assert len(button["callback_data"].encode()) <= 64
        assert button["callback_data"].startswith("b:")


async def test_button_press_is_answered_keyboard_removed_and_payload_sent(wired):
    app, record, _ = wired
    await feed(app, message(42, "/start"))
    welcome = record.sent()[-1]
    groups = next(b for b in keyboard(welcome) if b["text"] == "What groups are there?")
    before = len(record.calls)
    query = {
        "id": "cq-1",
        "from": {"id": 42, "is_bot": False, "first_name": "Sam"},
        "chat_instance": "x",
        "data": groups["callback_data"],
        "message": {**message(42, welcome["text"]), "message_id": 101, "from": BOT_USER},
    }
    await feed(app, query, key="callback_query", update_id=2)
    methods = [name for name, _ in record.calls[before:]]
    assert methods[0] == "answerCallbackQuery"
    assert "editMessageReplyMarkup" in methods
    assert any("Most are free" in p["text"] for p in record.sent())


async def test_a_button_from_another_chat_or_unknown_id_is_not_a_payload(wired):
    app, record, _ = wired
    query = {
        "id": "cq-2",
        "from": {"id": 7, "is_bot": False, "first_name": "Max"},
        "chat_instance": "x",
        "data": "b:forgedforgedforged",
        "message": {**message(7, "old"), "message_id": 5, "from": BOT_USER},
    }
    before = len(record.calls)
    await feed(app, query, key="callback_query")
    assert record.calls[before][0] == "answerCallbackQuery"
    assert "older message" in record.sent()[-1]["text"]


async def test_long_payloads_get_short_callback_ids(wired, engine):
    _, _, channel = wired
    conversation = engine.conversation_id(CHANNEL, "42")
    long_payload = (
        '/inform{"referral_interests": ["smart_recovery", "aa", "na", "ca", "lifering"]}'
    )
    callback = channel._callback_id(conversation, long_payload)
    assert len(callback.encode()) <= 64
    assert channel.payload_of(callback, conversation) == long_payload
    assert channel.payload_of(callback, engine.conversation_id(CHANNEL, "43")) is None


async def test_crisis_message_gets_signposting(wired):
    app, record, _ = wired
    await feed(app, message(42, "i want to kill myself"))
    text = record.sent()[0]["text"]
    assert "116 123" in text
    assert "999" in text


@pytest.mark.parametrize(
    "extra",
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
        {"location": {"latitude": 51.5, "longitude": -0.1}},
        {"document": {"file_id": "d", "file_unique_id": "d"}},
    ],
)
async def test_non_text_messages_get_a_kind_reply(wired, extra):
    app, record, _ = wired
    await feed(app, message(42, None, **extra))
    assert "only read text" in record.sent()[-1]["text"]


async def test_forwarded_messages_are_not_read(wired):
    app, record, _ = wired
    forwarded = {"forward_origin": {"type": "hidden_user", "date": 0, "sender_user_name": "X"}}
    await feed(app, message(42, "i want to kill myself", **forwarded))
    # Crisis words in a forwarded message still get help, never silence.
    texts = [p["text"] for p in record.sent()]
    assert any("not forwarded" in t for t in texts) or any("116 123" in t for t in texts)


async def test_edited_messages_are_ignored(wired):
    app, record, _ = wired
    await feed(app, message(42, "hello", edit_date=1), key="edited_message")
    assert record.sent() == []


async def test_group_chats_get_a_notice_and_the_bot_leaves(wired):
    app, record, _ = wired
    await feed(app, message(-100, "hello", chat_type="group"))
    assert "one-to-one" in record.sent()[0]["text"]
    assert [name for name, _ in record.calls][-1] == "leaveChat"


async def test_blocked_by_the_user_is_an_opt_out(wired, engine):
    app, record, _ = wired
    await feed(app, message(42, "/start"))
    conversation = engine.conversation_id(CHANNEL, "42")
    assert engine.store.load(conversation) is not None
    record.blocked.add(42)
    await feed(app, message(42, "what groups are there"), update_id=2)
    assert engine.store.load(conversation) is None


async def test_my_chat_member_kicked_forgets_the_chat(wired, engine):
    app, _, _ = wired
    await feed(app, message(42, "/start"))
    change = {
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Sam"},
        "date": 0,
        "old_chat_member": {"status": "member", "user": BOT_USER},
        "new_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0},
    }
    await feed(app, change, key="my_chat_member", update_id=2)
    assert engine.store.load(engine.conversation_id(CHANNEL, "42")) is None


async def test_command_menu_lists_public_commands_only(wired):
    app, record, channel = wired
    await channel.set_commands(app)
    [params] = record.sent("setMyCommands")
    commands = params["commands"]
    names = [
        c["command"] for c in (commands if isinstance(commands, list) else json.loads(commands))
    ]
    assert names == ["help", "restart", "forget"]


async def test_staff_get_their_own_command_menu_and_a_qr_photo(wired, engine):
    app, record, _ = wired
    code = staff_of(engine).invite("riverside")
    await feed(app, message(9, f"/staff {code}"))
    menus = record.sent("setMyCommands")
    assert menus
    assert "link" in json.dumps(menus[-1]["commands"])
    await feed(app, message(9, "/link"), update_id=2)
    [photo] = record.sent("sendPhoto")
    assert "t.me/" in photo["caption"]


async def test_followup_is_scheduled_sent_once_and_forgotten(wired, engine):
    app, record, channel = wired
    conversation = engine.conversation_id(CHANNEL, "42")
    await feed(app, message(42, "/followup"))
    replies = record.sent()[-1]
    three_days = next(b for b in keyboard(replies) if b["text"] == "In 3 days")
    query = {
        "id": "cq-3",
        "from": {"id": 42, "is_bot": False, "first_name": "Sam"},
        "chat_instance": "x",
        "data": three_days["callback_data"],
        "message": {**message(42, "x"), "message_id": 101, "from": BOT_USER},
    }
    await feed(app, query, key="callback_query", update_id=2)
    assert "one short message in 3 days" in record.sent()[-1]["text"]
    rows = list(engine.store.db.table("followups").rows)
    assert [r["conversation_id"] for r in rows] == [conversation]
    # Make it due now, then run the job twice: exactly one check-in is sent.
    engine.store.db.table("followups").update(conversation, {"due_at": "2000-01-01T00:00:00"})

    class Context:
        application = app

    assert await channel.send_due_followups(Context()) == 1
    assert await channel.send_due_followups(Context()) == 0
    assert "You asked me to check in" in record.sent()[-1]["text"]
    assert list(engine.store.db.table("followups").rows) == []


async def test_followup_cancelled_by_one_tap_or_forget(wired, engine):
    app, _, channel = wired
    conversation = engine.conversation_id(CHANNEL, "42")
    channel.schedule_followup(conversation, 42, 3)
    await feed(app, message(42, "/cancel_followup"))
    assert list(engine.store.db.table("followups").rows) == []
    channel.schedule_followup(conversation, 42, 3)
    await feed(app, message(42, "/forget"), update_id=2)
    assert list(engine.store.db.table("followups").rows) == []


def test_webhook_secret_is_valid_and_compared_safely():
    secret = webhook_secret()
    assert 1 <= len(secret) <= 256
    assert secret.replace("-", "").replace("_", "").isalnum()
    assert secret_matches(secret, secret)
    assert not secret_matches(secret, secret + "x")
    assert not secret_matches(secret, None)
    assert not secret_matches(secret, "")


async def test_updates_of_one_chat_run_in_order_and_other_chats_alongside():
    import asyncio

    from bot.channels.telegram import PerChatUpdateProcessor

    processor = PerChatUpdateProcessor()
    log: list[str] = []

    async def work(name: str, pause: float) -> None:
        log.append(f"{name} start")
        await asyncio.sleep(pause)
        log.append(f"{name} end")

    def update(chat_id: int, update_id: int) -> Update:
        return Update.de_json({"update_id": update_id, "message": message(chat_id, "hi")}, None)

    await asyncio.gather(
        processor.do_process_update(update(1, 1), work("a1", 0.05)),
        processor.do_process_update(update(1, 2), work("a2", 0.0)),
        processor.do_process_update(update(2, 3), work("b1", 0.0)),
    )
    assert log.index("a1 end") < log.index("a2 start")  # same chat: one after another
    assert log.index("b1 end") < log.index("a1 end")  # another chat did not wait
    assert len(processor._locks) == 0


async def test_daily_housekeeping_erases_idle_conversations(engine):
    await say(engine, "hello", "idle-person")
    gone = engine.conversation_id("test", "idle-person")
    with engine.store.lock, engine.store.db.conn:
        engine.store.db.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?",
            ["2020-01-01T00:00:00+00:00", gone],
        )
    await TelegramChannel(engine).daily_housekeeping()
    assert engine.store.load(gone) is None


async def test_a_reply_telegram_refuses_gets_a_short_fallback(wired):
    app, record, channel = wired
    await channel.send(app, 42, [BotReply(text="x" * 5000), BotReply(text="after")])
    texts = [p["text"] for p in record.sent()]  # every call, the refused one included
    assert len(texts) == 3
    assert "Sorry" in texts[1]
    assert "999" in texts[1]
    assert texts[2] == "after"
