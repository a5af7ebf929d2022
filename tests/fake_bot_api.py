"""A local fake of the Telegram Bot API subset the bot uses, served over HTTP on 127.0.0.1.

Tests point python-telegram-bot at it (``Bot(token, base_url=api.base_url)`` or the bot's
``TELEGRAM_BASE_URL``), play a person through the driving methods (``user_sends_text``,
``user_presses``, ...) and check what the bot did through ``calls``, ``bot_messages`` and
``wait_for``. The server runs in a background thread (``ThreadingHTTPServer``), so a test can
drive it synchronously while the bot runs in the same event loop or in another process.

Faithful where it matters for catching bugs, following https://core.telegram.org/bots/api:

* URLs are ``/bot<TOKEN>/<method>`` (GET or POST; JSON, form-urlencoded or multipart bodies,
  with nested fields such as ``reply_markup`` JSON-encoded as strings). A wrong token gets
  401 Unauthorized, an unknown method 404 Not Found, an unknown chat 400 "chat not found".
* ``getUpdates`` confirms and drops updates below ``offset``, honours ``limit``, long-polls for
  ``timeout`` seconds, keeps the last ``allowed_updates`` (Telegram's default list when never
  given) and drops updates of other types, refuses to run while a webhook is set (409), and
  a second concurrent ``getUpdates`` ends the first with 409 Conflict, as Telegram does when
  two bot instances poll at once.
* Buttons: ``callback_data`` must be 1-64 bytes, URL buttons need an http(s) or tg URL; a person
  can only press a button that is on the message now; a callback query can be answered once.
* Edits: "message to edit not found", "message is not modified", "there is no text in the
  message to edit" as 400 errors, like Telegram.
* Texts: 1-4096 characters; ``parse_mode`` HTML and MarkdownV2 are checked ("can't parse
  entities") and the stored message holds the text as the person sees it, with entities.
* A blocked chat gets 403 "Forbidden: bot was blocked by the user".
* ``fail_next`` makes the next call of a method fail with 429 (``parameters.retry_after``), any
  other Bot API error, or a bare HTTP status such as 502 with an HTML body (like a proxy).
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import re
import select
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

DEFAULT_TOKEN = "123456:TEST-TOKEN"

# Update types Telegram sends when allowed_updates was never given (or given as []).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Parameters that stay strings when they arrive form-encoded (everything else is JSON).
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "action",
        "inline_message_id",
        "description",
        "short_description",
        "name",
        "language_code",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "certificate",
        "file_id",
    }
)
MAX_TEXT = 4096
MAX_CAPTION = 1024
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_COMMAND_AT_START = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class Call(NamedTuple):
    """One Bot API request as the server saw it."""

    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    """What the next call of a method gets instead of its result."""

    error_code: int = 429
    retry_after: int | None = 1
    status: int | None = None
    description: str | None = None


@dataclass
class _Logged:
    method: str
    params: dict[str, Any]
    status: int = 0
    response: Any = None


class ApiError(Exception):
    """A Bot API error response: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class _ClientGone(Exception):
    """The client closed the connection while a long poll waited (a cancelled request)."""


def _client_gone(connection: socket.socket | None) -> bool:
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 320, 320


def _command_entities(text: str) -> list[dict[str, Any]]:
    match = BOT_COMMAND_AT_START.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]


def _coerce(name: str, value: str) -> Any:
    """A form field's value as Telegram reads it: JSON for everything but plain strings."""
    if name in STRING_PARAMS:
        return value
    if name == "chat_id":
        try:
            return int(value)
        except ValueError:
            return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_message_id: dict[int, int] = field(default_factory=dict)
    callback_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    allowed_updates: list[str] | None = None
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    log: list[_Logged] = field(default_factory=list)
    poll_generation: int = 0
    conflicts: int = 0


class FakeBotApi:
    """A Telegram Bot API server on 127.0.0.1 with a driving API for tests.

    Use as a context manager (``with FakeBotApi() as api:``) or call ``start``/``stop``.
    All public methods are thread-safe.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "MutualAidTestBot",
        first_name: str = "Mutual Aid Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self._host, self._port = host, port
        self._cond = threading.Condition(threading.RLock())
        self._state = _State()
        self._update_ids = itertools.count(100_000_001)
        self._query_ids = itertools.count(4_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._local = threading.local()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotApi:
        """Serve in a background thread; returns self."""
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-bot-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any long poll."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake Bot API is not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What python-telegram-bot's ``base_url`` expects: it appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What python-telegram-bot's ``base_file_url`` expects."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ driving: people

    def _user(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Sam",
            "language_code": "en",
        }

    def _chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        chat = self._state.chats.get(chat_id)
        if chat is None or chat["type"] != chat_type:
            if chat_type == "private":
                chat = {"id": chat_id, "type": "private", "first_name": "Sam"}
            else:
                chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
            self._state.chats[chat_id] = chat
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._state.next_message_id.get(chat_id, 1)
        self._state.next_message_id[chat_id] = next_id + 1
        return next_id

    def _enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._state.updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _user_message(
        self, chat_id: int, user_id: int | None, chat_type: str, content: dict[str, Any]
    ) -> dict[str, Any]:
        with self._cond:
            if chat_type == "private":
                user_id = chat_id if user_id is None else user_id
            elif user_id is None:
                user_id = 7_000_001
            message = {
                "message_id": self._new_message_id(chat_id),
                "from": self._user(user_id),
                "chat": copy.deepcopy(self._chat(chat_id, chat_type)),
                "date": int(time.time()),
                **content,
            }
            self._state.messages.setdefault(chat_id, {})[message["message_id"]] = message
            return self._enqueue({"message": copy.deepcopy(message)})

    def _file(self, data: bytes) -> tuple[str, str]:
        number = next(self._file_ids)
        file_id = f"AgACAgQAAxkBAAI{number:06d}FakeFileId"
        self._state.files[file_id] = data
        return file_id, f"AQAD{number:06d}"

    def user_sends_text(
        self, chat_id: int, text: str, user_id: int | None = None, chat_type: str = "private"
    ) -> dict[str, Any]:
        """A person sends text (commands get a bot_command entity, as Telegram adds)."""
        content: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(chat_id, user_id, chat_type, content)

    def group_message(self, chat_id: int, text: str, user_id: int | None = None) -> dict[str, Any]:
        """Someone writes in a group the bot is in (group ids are negative in Telegram)."""
        return self.user_sends_text(chat_id, text, user_id=user_id, chat_type="group")

    def user_sends_sticker(self, chat_id: int, user_id: int | None = None) -> dict[str, Any]:
        """A person sends a sticker."""
        with self._cond:
            file_id, unique = self._file(b"RIFF-fake-webp")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\U0001f44d",
            "set_name": "FakeStickers",
            "file_size": 14,
        }
        return self._user_message(chat_id, user_id, "private", {"sticker": sticker})

    def user_sends_photo(
        self, chat_id: int, caption: str | None = None, user_id: int | None = None
    ) -> dict[str, Any]:
        """A person sends a photo (two sizes, as Telegram does), optionally with a caption."""
        with self._cond:
            small = self._file(b"small-jpeg")
            large = self._file(b"large-jpeg")
        content: dict[str, Any] = {
            "photo": [
                {"file_id": small[0], "file_unique_id": small[1], "width": 90, "height": 90},
                {"file_id": large[0], "file_unique_id": large[1], "width": 800, "height": 800},
            ]
        }
        if caption is not None:
            content["caption"] = caption
        return self._user_message(chat_id, user_id, "private", content)

    def user_sends_voice(self, chat_id: int, user_id: int | None = None) -> dict[str, Any]:
        """A person sends a voice note."""
        with self._cond:
            file_id, unique = self._file(b"OggS-fake")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique,
            "duration": 3,
            "mime_type": "audio/ogg",
            "file_size": 9,
        }
        return self._user_message(chat_id, user_id, "private", {"voice": voice})

    def user_sends_location(
        self, chat_id: int, latitude: float = 51.5072, longitude: float = -0.1276
    ) -> dict[str, Any]:
        """A person shares a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(chat_id, None, "private", {"location": location})

    def user_sends_document(
        self, chat_id: int, file_name: str = "letter.pdf", data: bytes = b"%PDF-1.4 fake"
    ) -> dict[str, Any]:
        """A person sends a file."""
        with self._cond:
            file_id, unique = self._file(data)
        document = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": "application/pdf",
            "file_size": len(data),
        }
        return self._user_message(chat_id, None, "private", {"document": document})

    def user_edits_message(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """A person edits a text message they sent: an edited_message update."""
        with self._cond:
            original = self._state.messages.get(chat_id, {}).get(message_id)
            if original is None or original["from"].get("is_bot") or "text" not in original:
                raise AssertionError(f"no text message {message_id} from the person in {chat_id}")
            original["text"] = text
            original["edit_date"] = int(time.time())
            entities = _command_entities(text)
            original.pop("entities", None)
            if entities:
                original["entities"] = entities
            return self._enqueue({"edited_message": copy.deepcopy(original)})

    def user_presses(
        self, chat_id: int, message_id: int, callback_data: str, user_id: int | None = None
    ) -> str:
        """A person presses an inline button on a bot message; returns the callback query id.

        Like a real client, the button must be on the message now: pressing a button the bot
        removed (or never sent) is an AssertionError in the test.
        """
        with self._cond:
            message = self._state.messages.get(chat_id, {}).get(message_id)
            if message is None or not message["from"].get("is_bot"):
                raise AssertionError(f"no bot message {message_id} in chat {chat_id}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            offered = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in offered:
                raise AssertionError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data "
                    f"{callback_data!r}; it has {offered!r}"
                )
            chat = self._state.chats[chat_id]
            if user_id is None:
                user_id = chat_id if chat["type"] == "private" else 7_000_001
            query_id = str(next(self._query_ids))
            query = {
                "id": query_id,
                "from": self._user(user_id),
                "message": copy.deepcopy(message),
                "chat_instance": f"-{abs(chat_id) * 7919 % 10**18}",
                "data": callback_data,
            }
            self._state.callback_queries[query_id] = query
            self._enqueue({"callback_query": copy.deepcopy(query)})
            return query_id

    def user_blocks_bot(self, chat_id: int) -> dict[str, Any]:
        """The person blocks the bot: later sends get 403, and a my_chat_member update."""
        with self._cond:
            self._state.blocked.add(chat_id)
            return self._enqueue({"my_chat_member": self._member_update(chat_id, "kicked")})

    def user_unblocks_bot(self, chat_id: int) -> dict[str, Any]:
        """The person unblocks the bot (restarts it in their client)."""
        with self._cond:
            self._state.blocked.discard(chat_id)
            return self._enqueue({"my_chat_member": self._member_update(chat_id, "member")})

    def _member_update(self, chat_id: int, status: str) -> dict[str, Any]:
        old, new = ("member", status) if status == "kicked" else ("kicked", status)

        def member(state: str) -> dict[str, Any]:
            data: dict[str, Any] = {"user": dict(self.bot_user), "status": state}
            if state == "kicked":
                data["until_date"] = 0
            return data

        return {
            "chat": copy.deepcopy(self._chat(chat_id)),
            "from": self._user(chat_id),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    # ------------------------------------------------------------------ driving: server

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int | None = 1,
        *,
        status: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next call of ``method`` fail.

        ``fail_next("sendMessage")`` answers 429 with ``parameters.retry_after`` like Telegram;
        ``fail_next("sendMessage", error_code=400, description="Bad Request: ...")`` any other
        Bot API error; ``fail_next("getUpdates", status=502)`` a bare 502 with an HTML body,
        as from a proxy in front of the API. Calls queue up: two fail_next, two failures.
        """
        with self._cond:
            failure = Failure(error_code, retry_after, status, description)
            self._state.failures.setdefault(method.lower(), []).append(failure)

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat, as they are now (after edits), oldest first."""
        with self._cond:
            messages = self._state.messages.get(chat_id, {}).values()
            return copy.deepcopy([m for m in messages if m["from"].get("is_bot")])

    def photo_bytes(self, message: dict[str, Any]) -> bytes:
        """The uploaded bytes of a photo message the bot sent."""
        with self._cond:
            return self._state.files[message["photo"][-1]["file_id"]]

    def calls(self, method: str | None = None) -> list[Call]:
        """Every request so far (failed ones too), in order; only ``method``'s if given."""
        with self._cond:
            return [
                Call(entry.method, copy.deepcopy(entry.params))
                for entry in self._state.log
                if method is None or entry.method.lower() == method.lower()
            ]

    def log(self, method: str | None = None) -> list[dict[str, Any]]:
        """Like ``calls``, with each call's HTTP status: {"method", "params", "status"}."""
        with self._cond:
            return [
                {"method": e.method, "params": copy.deepcopy(e.params), "status": e.status}
                for e in self._state.log
                if method is None or e.method.lower() == method.lower()
            ]

    def answered_callback_queries(self) -> dict[str, dict[str, Any]]:
        """Callback query id -> the answerCallbackQuery parameters."""
        with self._cond:
            return copy.deepcopy(self._state.answered)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list:
        """The command list setMyCommands left for a scope (default scope when None)."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        with self._cond:
            return copy.deepcopy(self._state.commands.get(key, []))

    @property
    def webhook(self) -> dict[str, Any]:
        """What setWebhook recorded (url, secret_token, allowed_updates, ...)."""
        with self._cond:
            return copy.deepcopy(self._state.webhook)

    @property
    def allowed_updates(self) -> list[str] | None:
        """The last allowed_updates a getUpdates or setWebhook gave (None: never given)."""
        with self._cond:
            return copy.deepcopy(self._state.allowed_updates)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset."""
        with self._cond:
            return copy.deepcopy(self._state.updates)

    @property
    def conflicts(self) -> int:
        """How many getUpdates were ended by a newer concurrent getUpdates (409)."""
        with self._cond:
            return self._state.conflicts

    def dump(self) -> str:
        """Every request and its outcome, one a line, for failure messages."""
        with self._cond:
            lines = []
            for n, entry in enumerate(self._state.log):
                params = json.dumps(entry.params, default=repr, ensure_ascii=False)
                if len(params) > 400:
                    params = params[:400] + "..."
                lines.append(f"{n:3d} {entry.status} {entry.method} {params}")
            return "\n".join(lines) or "(no calls)"

    def wait_for(
        self, predicate: Callable[[FakeBotApi], Any], timeout: float = 10.0, what: str = ""
    ) -> Any:
        """Poll until ``predicate(self)`` is truthy and return its value.

        Raises AssertionError with every call so far if it is still falsy after ``timeout``.
        Blocking: from async code run it in a thread (``await asyncio.to_thread(...)``).
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"calls so far:\n{self.dump()}"
                )
            time.sleep(0.02)

    # ------------------------------------------------------------------ serving

    def _handle(self, token: str, method: str, params: dict[str, Any], uploads: dict) -> tuple:
        """(HTTP status, body bytes, content type) for one request."""
        if token != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        handler = _METHODS.get(method.lower())
        with self._cond:
            shown = {name: f"<upload {len(up.data)} bytes>" for name, up in uploads.items()}
            entry = _Logged(method, {**params, **shown})
            self._state.log.append(entry)
            failures = self._state.failures.get(method.lower())
            failure = failures.pop(0) if failures else None
        if failure is not None:
            status, body, ctype = _failure_response(failure)
            entry.status = status
            return status, body, ctype
        if handler is None:
            entry.status = 404
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        try:
            result = handler(self, params, uploads)
        except _ClientGone:
            entry.status = 499  # nginx's "client closed request": nobody gets an answer
            return _json(499, {"ok": False, "error_code": 499, "description": "Closed"})
        except ApiError as error:
            entry.status = error.code
            payload: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                payload["parameters"] = error.parameters
            entry.response = payload
            return _json(error.code, payload)
        entry.status = 200
        entry.response = result
        return _json(200, {"ok": True, "result": result})

    # ------------------------------------------------------------------ methods

    def _known_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                raise _bad("chat not found") from None
        if chat_id not in self._state.chats:
            raise _bad("chat not found")
        if chat_id in self._state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _bot_message(self, chat_id: int, content: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": copy.deepcopy(self._state.chats[chat_id]),
            "date": int(time.time()),
            **content,
        }
        self._state.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _m_getme(self, params: dict, uploads: dict) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getupdates(self, params: dict, uploads: dict) -> list[dict[str, Any]]:
        offset = _int(params.get("offset", 0), "offset")
        limit = _int(params.get("limit", 100), "limit")
        limit = 100 if limit <= 0 or limit > 100 else limit
        timeout = max(0, _int(params.get("timeout", 0), "timeout"))
        with self._cond:
            if self._state.webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if "allowed_updates" in params:
                allowed = params["allowed_updates"]
                if not isinstance(allowed, list):
                    raise _bad("can't parse allowed updates")
                self._state.allowed_updates = allowed
            self._state.poll_generation += 1
            generation = self._state.poll_generation
            self._cond.notify_all()  # ends an older long poll with a conflict
            deadline = time.monotonic() + timeout
            while True:
                if generation != self._state.poll_generation:
                    self._state.conflicts += 1
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                ready = self._take_updates(offset, limit)
                if ready or self._closed:
                    return ready
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if _client_gone(getattr(self._local, "connection", None)):
                    raise _ClientGone
                self._cond.wait(min(remaining, 0.2))

    def _take_updates(self, offset: int, limit: int) -> list[dict[str, Any]]:
        updates = self._state.updates
        if offset < 0:
            updates[:] = updates[offset:]
        elif offset:
            updates[:] = [u for u in updates if u["update_id"] >= offset]
        allowed = set(self._state.allowed_updates or ()) or DEFAULT_ALLOWED_UPDATES
        kept = []
        for update in updates:
            kind = next(k for k in update if k != "update_id")
            if kind in allowed:
                kept.append(update)  # Telegram never delivers the others: drop them
        updates[:] = kept
        return copy.deepcopy(kept[:limit])

    def _m_deletewebhook(self, params: dict, uploads: dict) -> bool:
        with self._cond:
            self._state.webhook = {}
            if _bool(params.get("drop_pending_updates")):
                self._state.updates.clear()
        return True

    def _m_setwebhook(self, params: dict, uploads: dict) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        with self._cond:
            if not url:
                self._state.webhook = {}
                return True
            self._state.webhook = {
                "url": url,
                "secret_token": secret,
                "allowed_updates": params.get("allowed_updates"),
                "max_connections": params.get("max_connections", 40),
                "ip_address": params.get("ip_address"),
            }
            if "allowed_updates" in params:
                self._state.allowed_updates = params["allowed_updates"]
            if _bool(params.get("drop_pending_updates")):
                self._state.updates.clear()
        return True

    def _text_and_entities(
        self, text: Any, parse_mode: Any, limit: int, empty: str, long: str
    ) -> tuple[str, list[dict[str, Any]]]:
        if not isinstance(text, str) or not text.strip():
            raise _bad(empty)
        # The bot sends plain text only; anything else is a change this fake should catch.
        if parse_mode:
            raise _bad(f"this fake takes plain text only, not parse_mode {parse_mode}")
        plain, entities = text, []
        if not plain.strip():
            raise _bad(empty)
        if len(plain) > limit:
            raise _bad(long)
        return plain, entities

    def _markup(self, params: dict) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup in (None, ""):
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards, ForceReply and ReplyKeyboardRemove: not on Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed")
                kinds = [k for k in button if k != "text"]
                if len(kinds) != 1:
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton must have "
                        "exactly one optional field"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                elif "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                        raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong URL")
        rows = [row for row in rows if row]
        return {"inline_keyboard": rows} if rows else None

    def _m_sendmessage(self, params: dict, uploads: dict) -> dict[str, Any]:
        with self._cond:
            chat_id = self._known_chat(params)
            text, entities = self._text_and_entities(
                params.get("text"),
                params.get("parse_mode"),
                MAX_TEXT,
                "message text is empty",
                "message is too long",
            )
            content: dict[str, Any] = {"text": text}
            if entities:
                content["entities"] = entities
            markup = self._markup(params)
            if markup:
                content["reply_markup"] = markup
            return self._bot_message(chat_id, content)

    def _m_sendphoto(self, params: dict, uploads: dict) -> dict[str, Any]:
        with self._cond:
            chat_id = self._known_chat(params)
            photo = params.get("photo")
            upload = uploads.get("photo")
            if isinstance(photo, str) and photo.startswith("attach://"):
                upload = uploads.get(photo.removeprefix("attach://"))
            if upload is not None:
                if not upload.data:
                    raise _bad("file must be non-empty")
                data = upload.data
            elif isinstance(photo, str) and photo in self._state.files:
                data = self._state.files[photo]
            elif isinstance(photo, str) and photo.startswith(("http://", "https://")):
                raise _bad("wrong file identifier/HTTP URL specified")
            else:
                raise _bad("there is no photo in the request")
            file_id, unique = self._file(data)
            width, height = _png_size(data)
            content: dict[str, Any] = {
                "photo": [
                    {
                        "file_id": file_id,
                        "file_unique_id": unique,
                        "width": width,
                        "height": height,
                        "file_size": len(data),
                    }
                ]
            }
            if params.get("caption"):
                caption, entities = self._text_and_entities(
                    params["caption"],
                    params.get("parse_mode"),
                    MAX_CAPTION,
                    "message caption is empty",
                    "message caption is too long",
                )
                content["caption"] = caption
                if entities:
                    content["caption_entities"] = entities
            markup = self._markup(params)
            if markup:
                content["reply_markup"] = markup
            return self._bot_message(chat_id, content)

    def _editable(self, params: dict) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("message to edit not found")
        chat_id = self._known_chat(params)
        message_id = _int(params.get("message_id"), "message_id")
        message = self._state.messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if not message["from"].get("is_bot"):
            raise _bad("message can't be edited")
        return message

    def _m_editmessagereplymarkup(self, params: dict, uploads: dict) -> dict[str, Any]:
        with self._cond:
            message = self._editable(params)
            markup = self._markup(params)
            if markup == message.get("reply_markup"):
                raise _bad(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            return copy.deepcopy(message)

    def _m_answercallbackquery(self, params: dict, uploads: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        with self._cond:
            if query_id not in self._state.callback_queries or query_id in self._state.answered:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            self._state.answered[query_id] = dict(params)
        return True

    def _m_setmycommands(self, params: dict, uploads: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand")
            if not COMMAND_RE.match(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("command description is empty")
        scope = params.get("scope") or {"type": "default"}
        key = (json.dumps(scope, sort_keys=True), params.get("language_code") or "")
        with self._cond:
            self._state.commands[key] = commands
        return True

    def _m_leavechat(self, params: dict, uploads: dict) -> bool:
        with self._cond:
            chat_id = params.get("chat_id")
            chat = self._state.chats.get(_int(chat_id, "chat_id"))
            if chat is None:
                raise _bad("chat not found")
            if chat["type"] == "private":
                raise _bad("chat member status can't be changed in private chats")
        return True


_METHODS: dict[str, Callable[[FakeBotApi, dict, dict], Any]] = {
    name[3:]: function
    for name, function in vars(FakeBotApi).items()
    if name.startswith("_m_") and callable(function)
}


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"wrong type of the parameter {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"wrong type of the parameter {name}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _json(status: int, payload: Any) -> tuple[int, bytes, str]:
    return status, json.dumps(payload, ensure_ascii=False).encode(), "application/json"


def _failure_response(failure: Failure) -> tuple[int, bytes, str]:
    if failure.status is not None:
        body = (
            f"<html><head><title>{failure.status}</title></head><body><center><h1>"
            f"{failure.status}</h1></center><hr><center>nginx</center></body></html>"
        )
        return failure.status, body.encode(), "text/html"
    payload: dict[str, Any] = {"ok": False, "error_code": failure.error_code}
    if failure.error_code == 429:
        retry = failure.retry_after or 1
        payload["description"] = failure.description or f"Too Many Requests: retry after {retry}"
        payload["parameters"] = {"retry_after": retry}
    else:
        payload["description"] = failure.description or {
            400: "Bad Request",
            403: "Forbidden",
            409: "Conflict",
            500: "Internal Server Error",
        }.get(failure.error_code, "Error")
    return _json(failure.error_code, payload)


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, _Upload]]:
    """Parameters and uploaded files from a request body, as Telegram reads them."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise _bad("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise _bad("can't parse JSON object")
        params = {}
        for name, value in data.items():
            decodable = name not in STRING_PARAMS and name != "chat_id"
            if decodable and isinstance(value, str) and value[:1] in "[{":
                value = _coerce(name, value)
            params[name] = value
        return params, {}
    if mime == "application/x-www-form-urlencoded":
        pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        return {name: _coerce(name, value) for name, value in pairs}, {}
    if mime == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        params: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            data = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                uploads[name] = _Upload(filename, part.get_content_type(), data)
            else:
                params[name] = _coerce(name, data.decode(part.get_content_charset() or "utf-8"))
        return params, uploads
    raise _bad(f"unsupported Content-Type {mime}")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBotApi
    server_version = "nginx/1.18.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the fake's own log is FakeBotApi.dump()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.unquote(url.path)  # clients may send the token's ":" as %3A
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match:
            response = _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        else:
            token, method = match.groups()
            try:
                params, uploads = _parse_body(self.headers.get("Content-Type", ""), body)
            except ApiError as error:
                response = _json(
                    400, {"ok": False, "error_code": 400, "description": error.description}
                )
            else:
                for name, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
                    params.setdefault(name, _coerce(name, value))
                self.fake._local.connection = self.connection
                response = self.fake._handle(token, method, params, uploads)
        status, payload, content_type = response
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a cancelled long poll): nothing to tell it


def iter_buttons(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every inline button on a message dict."""
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        yield from row
