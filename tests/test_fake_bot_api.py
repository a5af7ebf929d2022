"""The fake Bot API, checked with python-telegram-bot itself (the client the bot uses)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fake_bot_api import FakeBotApi, iter_buttons

TOKEN = "123456:TEST-TOKEN"
CHAT = 4242
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x06\x00\x00\x00"
    b"rest-of-a-fake-png"
)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


def _raw(api: FakeBotApi, method: str, body: bytes, content_type: str, token: str = TOKEN):
    """A request without PTB: (HTTP status, parsed JSON)."""
    request = urllib.request.Request(
        f"{api.base_url}{token}/{method}",
        data=body,
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_base_urls_are_what_ptb_expects(api: FakeBotApi) -> None:
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    assert api.base_file_url == f"http://127.0.0.1:{api.port}/file/bot"


async def test_get_me(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "MutualAidTestBot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert {c.method for c in api.calls()} == {"getMe"}  # Bot.initialize calls it too


async def test_send_message_with_inline_keyboard_round_trips(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hello")
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Groups", callback_data="/list_options")],
            [InlineKeyboardButton("Form", url="https://forms.example.org/riverside")],
        ]
    )
    sent = await bot.send_message(CHAT, "Pick one", reply_markup=markup)
    assert sent.text == "Pick one"
    assert sent.chat.id == CHAT
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.reply_markup == markup
    assert sent.message_id == 2  # message ids count per chat: the person's message was 1
    [stored] = api.bot_messages(CHAT)
    assert [b.get("callback_data") or b.get("url") for b in iter_buttons(stored)] == [
        "/list_options",
        "https://forms.example.org/riverside",
    ]
    [(method, params)] = api.calls("sendMessage")
    assert method == "sendMessage"
    assert params["chat_id"] == CHAT
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/list_options"


async def test_only_plain_text_is_taken(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hi")
    with pytest.raises(BadRequest, match="plain text only"):
        await bot.send_message(CHAT, "Call <b>999</b>", parse_mode="HTML")


async def test_telegram_limits(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "nobody has written from this chat")
    api.user_sends_text(CHAT, "hi")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    too_long = InlineKeyboardButton("Too long", callback_data="x" * 65)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "hi", reply_markup=InlineKeyboardMarkup([[too_long]]))


async def test_get_updates_offset_limit_and_long_poll(api: FakeBotApi, bot: Bot) -> None:
    assert await bot.get_updates(timeout=1) == ()
    first = api.user_sends_text(CHAT, "/start abc")
    api.user_sends_text(CHAT, "second")
    updates = await bot.get_updates(timeout=1, limit=1, allowed_updates=["message"])
    assert [u.update_id for u in updates] == [first["update_id"]]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start abc"
    assert message.entities[0].type == "bot_command"  # CommandHandler depends on it
    updates = await bot.get_updates(offset=first["update_id"] + 1, timeout=1)
    assert [u.message.text for u in updates if u.message] == ["second"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert api.pending_updates == []
    assert api.allowed_updates == ["message"]
    assert api.calls("getUpdates")[0].params["timeout"] == 1


async def test_long_poll_returns_when_an_update_arrives(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
    await asyncio.to_thread(api.wait_for, lambda a: a.calls("getUpdates"))
    api.user_sends_text(CHAT, "wake up")
    updates = await asyncio.wait_for(poll, 4)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_allowed_updates_drops_other_types(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hi")
    await bot.send_message(
        CHAT,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]]),
    )
    api.user_presses(CHAT, 2, "a")
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [bool(u.message) for u in updates] == [True]


async def test_concurrent_get_updates_conflict(api: FakeBotApi, bot: Bot) -> None:
    async with Bot(TOKEN, base_url=api.base_url) as second:
        first_poll = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
        await asyncio.to_thread(api.wait_for, lambda a: a.calls("getUpdates"))
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="only one bot instance"):
            await first_poll
    assert api.conflicts == 1


async def test_drop_pending_updates(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "old")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_send_photo_stores_the_bytes(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "qr please")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await bot.send_photo(CHAT, PNG, caption="Your QR code", reply_markup=markup)
    assert sent.photo[-1].width == 2
    assert sent.photo[-1].height == 3
    assert sent.caption == "Your QR code"
    [stored] = api.bot_messages(CHAT)
    assert api.photo_bytes(stored) == PNG
    assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "done"


async def test_press_answer_and_edit(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hi")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="/yes")]])
    sent = await bot.send_message(CHAT, "Shall I?", reply_markup=markup)
    query_id = api.user_presses(CHAT, sent.message_id, "/yes")
    [update_data] = [u for u in api.pending_updates if "callback_query" in u]
    update = Update.de_json(update_data, bot)
    assert update.callback_query is not None
    assert update.callback_query.id == query_id
    assert update.callback_query.data == "/yes"
    assert update.callback_query.message.message_id == sent.message_id
    assert update.effective_chat.id == CHAT

    assert await bot.answer_callback_query(query_id)
    assert api.answered_callback_queries()[query_id]["callback_query_id"] == query_id
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query(query_id)  # once only
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("12345")

    edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert edited.reply_markup is None
    assert "reply_markup" not in api.bot_messages(CHAT)[0]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    with pytest.raises(AssertionError, match="no button"):
        api.user_presses(CHAT, sent.message_id, "/yes")  # the button is gone
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(CHAT, 999, reply_markup=None)


async def test_blocked_chat_is_forbidden(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hi")
    api.user_blocks_bot(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "still there?")
    updates = await bot.get_updates(timeout=0)
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"
    assert member.old_chat_member.status == "member"


async def test_429_raises_retry_after(
    api: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, PTB 22 warns (PTBDeprecationWarning) inside RetryAfter itself.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    api.user_sends_text(CHAT, "hi")
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "too fast")
    assert caught.value.retry_after.total_seconds() == 3
    assert (await bot.send_message(CHAT, "now")).text == "now"  # only the next call fails
    assert [c.params["text"] for c in api.calls("sendMessage")] == ["too fast", "now"]


async def test_502_is_a_network_error(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("getUpdates", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_updates(timeout=0)
    assert await bot.get_updates(timeout=0) == ()


async def test_wrong_token_is_invalid(api: FakeBotApi) -> None:
    wrong = Bot("654321:WRONG", base_url=api.base_url)
    with pytest.raises(InvalidToken, match="rejected"):
        await wrong.initialize()  # calls getMe
    await wrong.shutdown()
    status, body = _raw(api, "getMe", b"", "application/json", token="654321:WRONG")
    assert (status, body) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


def test_unknown_method_is_404(api: FakeBotApi) -> None:
    status, body = _raw(api, "sendTelepathy", b"{}", "application/json")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_json_and_form_bodies(api: FakeBotApi) -> None:
    api.user_sends_text(CHAT, "hi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = _raw(
        api,
        "sendMessage",
        json.dumps({"chat_id": CHAT, "text": "json", "reply_markup": markup}).encode(),
        "application/json",
    )
    assert status == 200
    assert body["ok"]
    assert body["result"]["reply_markup"] == markup
    form = f"chat_id={CHAT}&text=123&reply_markup={json.dumps(markup)}".encode()
    status, body = _raw(api, "sendMessage", form, "application/x-www-form-urlencoded")
    assert status == 200
    assert body["result"]["text"] == "123"  # text stays a string
    assert body["result"]["reply_markup"] == markup


async def test_set_my_commands_webhook_and_leave_chat(api: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("help", "What I can do"), BotCommand("forget", "Delete my data")]
    assert await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
    assert [c["command"] for c in api.commands({"type": "all_private_chats"})] == [
        "help",
        "forget",
    ]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Help Me", "x")])

    assert await bot.set_webhook(
        "https://bot.example.org/telegram", secret_token="s3cret_-", allowed_updates=["message"]
    )
    assert api.webhook["secret_token"] == "s3cret_-"
    assert api.webhook["url"] == "https://bot.example.org/telegram"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert not api.webhook.get("url")

    api.group_message(-100, "hello all")
    assert await bot.leave_chat(-100)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.leave_chat(-555)


async def test_driving_updates_parse_in_ptb(api: FakeBotApi, bot: Bot) -> None:
    sent = api.user_sends_text(CHAT, "hello")
    api.user_sends_sticker(CHAT)
    api.user_sends_photo(CHAT, caption="look")
    api.user_sends_voice(CHAT)
    api.user_sends_location(CHAT)
    api.user_sends_document(CHAT)
    api.user_edits_message(CHAT, sent["message"]["message_id"], "hello again")
    api.group_message(-100, "/help@MutualAidTestBot")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message]
    assert messages[1].sticker is not None
    assert messages[2].photo
    assert messages[2].caption == "look"
    assert messages[3].voice is not None
    assert messages[4].location is not None
    assert messages[5].document is not None
    assert messages[6].chat.type == "group"
    assert messages[6].entities[0].type == "bot_command"
    [edited] = [u.edited_message for u in updates if u.edited_message]
    assert edited.text == "hello again"
    assert edited.message_id == sent["message"]["message_id"]


def test_wait_for_dumps_calls_on_timeout(api: FakeBotApi) -> None:
    assert api.wait_for(lambda a: 42, timeout=0.1) == 42
    with pytest.raises(AssertionError, match=r"no calls"):
        api.wait_for(lambda a: a.calls("sendMessage"), timeout=0.1, what="a reply")
