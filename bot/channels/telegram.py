"""The Telegram channel, on python-telegram-bot: polling or a secured webhook
(bot/channels/telegram_webhook.py).

Maps the engine's replies to Telegram (text, inline keyboards with short callback ids, URL
buttons, photos), answers every button press and removes the pressed keyboard, handles
everything else a person may send with a kind reply or a silent ignore, leaves group chats,
treats "blocked by the user" as an opt-out, and sends the follow-up check-ins people ask for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.channels.telegram_order import PerChatUpdateProcessor
from bot.channels.telegram_webhook import (
    ALLOWED_UPDATES,
    MAX_WEBHOOK_BODY,
    WEBHOOK_PATH,
    secret_matches,
    serve_webhook,
    webhook_app,
    webhook_route,
    webhook_running,
    webhook_secret,
)
from bot.clock import iso, now_iso, utc_now
from bot.engine import BotReply, Engine
from bot.staff_commands import StaffCommands

log = logging.getLogger(__name__)
# Retention runs once a day while the bot is up (and at every start).
DAY_SECONDS = 24 * 60 * 60

CHANNEL = "telegram"
ALLOWED_UPDATES.append(Update.MY_CHAT_MEMBER)
PUBLIC_COMMANDS = [
    ("help", "What I can help with"),
    ("restart", "Start again"),
    ("forget", "Delete what I keep about this chat"),
]
STAFF_COMMANDS = [
    ("link", "Your site's QR code and link"),
    ("clientlink", "A link for one person (works once, 24 hours)"),
    ("stats", "Anonymous counts for your site"),
]
CALLBACK_PREFIX = "b:"
FOLLOWUP_INTERVAL_SECONDS = 60
SEND_ATTEMPTS = 4
T = TypeVar("T")


class TelegramChannel:
    """Connects the engine to a python-telegram-bot Application."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    # ----- building --------------------------------------------------------------------

    def build(
        self,
        token: str,
        *,
        base_url: str | None = None,
        request: BaseRequest | None = None,
        get_updates_request: BaseRequest | None = None,
        with_updater: bool = True,
        rate_limiter: bool = True,
    ) -> Application:
        """The Application, with every handler registered."""
        builder: ApplicationBuilder = Application.builder().token(token)
        if base_url:
            builder = builder.base_url(base_url).base_file_url(
                base_url.removesuffix("/bot") + "/file/bot"
            )
        if request is not None:
            builder = builder.request(request)
        if get_updates_request is not None:
            builder = builder.get_updates_request(get_updates_request)
        if not with_updater:
            builder = builder.updater(None)
        if rate_limiter:
            builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
        builder = builder.concurrent_updates(PerChatUpdateProcessor()).post_init(self._post_init)
        app = builder.build()
        self.register(app)
        return app

    def register(self, app: Application) -> None:
        """Register the handlers on an Application."""
        app.add_handler(ChatMemberHandler(self.on_my_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self.on_edited))
        app.add_handler(MessageHandler(filters.ChatType.GROUPS, self.on_group))
        app.add_handler(CallbackQueryHandler(self.on_button))
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(private & filters.FORWARDED, self.on_forwarded))
        app.add_handler(MessageHandler(private & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(private, self.on_other))
        app.add_error_handler(self.on_error)

    async def _post_init(self, app: Application) -> None:
        # Deep links use the username Telegram reports for this token.
        if app.bot.username:
            self.engine.links.telegram_username = app.bot.username
        await self.set_commands(app)
        if app.job_queue is not None:
            app.job_queue.run_repeating(
                self.send_due_followups, interval=FOLLOWUP_INTERVAL_SECONDS, first=1
            )
            app.job_queue.run_repeating(
                self.daily_housekeeping, interval=DAY_SECONDS, first=DAY_SECONDS
            )

    async def daily_housekeeping(self, context: object = None) -> None:
        """Once a day: erase idle conversations and old short codes (retention)."""
        self.engine.housekeeping()

    async def set_commands(self, app: Application) -> None:
        """The command menu: public commands for everyone."""
        commands = [BotCommand(name, text) for name, text in PUBLIC_COMMANDS]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())

    # ----- sending ---------------------------------------------------------------------

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """Send, retrying with backoff on network errors and time-outs, so no reply is lost.

        This is the only retry layer for those; 429s are PTB's AIORateLimiter's to retry
        (it waits the time Telegram asks), and refusals (BadRequest, Forbidden) are never
        retried: the caller decides what they mean.
        """
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await call()
            except BadRequest:
                raise
            except (TimedOut, NetworkError):
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
        return None  # pragma: no cover - the loop returns or raises

    def _callback_id(self, conversation_id: str, payload: str) -> str:
        digest = hashlib.sha256(f"{conversation_id}\x1f{payload}".encode()).hexdigest()[:16]
        callback_id = CALLBACK_PREFIX + digest
        self.store.callbacks.put(callback_id, conversation_id, payload)
        return callback_id

    def payload_of(self, callback_id: str, conversation_id: str) -> str | None:
        """The payload behind a button's short id, if it belongs to this conversation."""
        return self.store.callbacks.payload_of(callback_id, conversation_id)

    def keyboard(self, reply: BotReply, conversation_id: str) -> InlineKeyboardMarkup | None:
        """One button a row: payload buttons carry a short id, URL buttons open the URL."""
        rows = []
        for button in reply.buttons:
            if "url" in button:
                rows.append([InlineKeyboardButton(button["title"], url=button["url"])])
            else:
                callback = self._callback_id(conversation_id, button["payload"])
                rows.append([InlineKeyboardButton(button["title"], callback_data=callback)])
        return InlineKeyboardMarkup(rows) if rows else None

    async def send(self, app: Application, chat_id: int, replies: list[BotReply]) -> None:
        """Send the engine's replies to a chat; a blocked bot forgets the chat."""
        conversation_id = self.engine.conversation_id(CHANNEL, str(chat_id))
        try:
            for reply in replies:
                try:
                    await self._send_one(app, chat_id, reply, conversation_id)
                except BadRequest as error:
                    # Telegram refused this one (too long, a bad button): the person still
                    # gets a short answer with the help numbers, and the rest goes on.
                    log.error("a reply was refused by Telegram (%s); sent a fallback", error)
                    fallback = self.engine.respond(CHANNEL, str(chat_id), "utter_error")
                    for text in (r.text for r in fallback if r.text):
                        await self._retry(lambda text=text: app.bot.send_message(chat_id, text))
        except Forbidden:
            log.info("a chat blocked the bot; treating it as an opt-out")
            self.engine.forget(CHANNEL, str(chat_id))

    async def _send_one(
        self, app: Application, chat_id: int, reply: BotReply, conversation_id: str
    ) -> None:
        markup = self.keyboard(reply, conversation_id)
        if reply.image:
            image = reply.image
            await self._retry(
                lambda: app.bot.send_photo(
                    chat_id, image, caption=reply.text[:1024], reply_markup=markup
                )
            )
        elif reply.text:
            await self._retry(
                lambda: app.bot.send_message(chat_id, reply.text, reply_markup=markup)
            )

    # ----- handlers --------------------------------------------------------------------

    async def _answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        chat_id = str(chat.id)
        replies = await self.engine.handle(CHANNEL, chat_id, text)
        await self.send(context.application, chat.id, replies)
        await self._after_turn(context.application, chat.id, text)

    async def _after_turn(self, app: Application, chat_id: int, text: str) -> None:
        """Act on what the turn asked of the channel: check-ins and the staff menu."""
        taken = await self.engine.take_slots(
            CHANNEL, str(chat_id), ["followup_days", "followup_cancelled"]
        )
        conversation_id = self.engine.conversation_id(CHANNEL, str(chat_id))
        if taken.get("followup_cancelled"):
            self.cancel_followup(conversation_id)
        if taken.get("followup_days"):
            self.schedule_followup(conversation_id, chat_id, int(taken["followup_days"]))
        if text.startswith("/staff") and self._is_staff(conversation_id):
            commands = [BotCommand(n, t) for n, t in PUBLIC_COMMANDS + STAFF_COMMANDS]
            await self._retry(
                lambda: app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
            )

    def _is_staff(self, conversation_id: str) -> bool:
        """Whether the chat is enrolled staff (for the staff command menu)."""
        commands = self.engine.find(StaffCommands)
        return commands is not None and commands.is_staff(conversation_id)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message (commands included) from a one-to-one chat."""
        if update.message and update.message.text:
            await self._answer(update, context, update.message.text)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: answer it, remove the old keyboard, then send its payload."""
        query = update.callback_query
        if query is None:
            return
        await self._retry(query.answer)
        message = query.message
        chat = update.effective_chat
        if message is not None and hasattr(message, "edit_reply_markup"):
            # BadRequest: already removed, or the message is too old to edit.
            with contextlib.suppress(BadRequest):
                await self._retry(lambda: message.edit_reply_markup(reply_markup=None))
        if chat is None or chat.type != "private":
            return
        conversation_id = self.engine.conversation_id(CHANNEL, str(chat.id))
        payload = self.payload_of(str(query.data or ""), conversation_id)
        if payload is None:
            replies = self.engine.respond(CHANNEL, str(chat.id), "utter_old_button")
            await self.send(context.application, chat.id, replies)
            return
        await self._answer(update, context, payload)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice notes, locations, documents: a kind reply."""
        await self._notice(update, context, "utter_non_text")

    async def on_forwarded(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A forwarded message: read only what the person types themselves."""
        await self._notice(update, context, "utter_forwarded")

    async def _notice(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, response: str
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        replies = self.engine.respond(CHANNEL, str(chat.id), response)
        await self.send(context.application, chat.id, replies)

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: ignored silently (the reply to the original stands)."""

    async def on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group chats: the bot is for one-to-one chats; it says so and leaves."""
        chat = update.effective_chat
        if chat is None:
            return
        replies = self.engine.respond(CHANNEL, f"group:{chat.id}", "utter_group_chat")
        try:
            for reply in replies:
                text = reply.text
                await self._retry(lambda text=text: context.bot.send_message(chat.id, text))
            await self._retry(lambda: context.bot.leave_chat(chat.id))
        except Forbidden:
            pass

    async def on_my_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The person blocked the bot: an opt-out, so forget the chat."""
        change = update.my_chat_member
        if change is None:
            return
        if change.chat.type == "private" and change.new_chat_member.status == "kicked":
            self.engine.forget(CHANNEL, str(change.chat.id))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error's type only: updates hold what people typed."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s", update_id, type(context.error).__name__)

    # ----- follow-ups ------------------------------------------------------------------

    def schedule_followup(self, conversation_id: str, chat_id: int, days: int) -> None:
        """Store a check-in; one per conversation, replacing any earlier one."""
        due = iso(utc_now() + timedelta(days=days))
        self.store.followups.schedule(conversation_id, str(chat_id), due)

    def cancel_followup(self, conversation_id: str) -> None:
        """Remove a pending check-in."""
        self.store.followups.cancel(conversation_id)

    def _claim_due(self, at: str) -> list[tuple[str, str]]:
        """Due check-ins, each claimed once (so a restart never sends one twice)."""
        return self.store.followups.claim_due(at)

    async def send_due_followups(self, context: ContextTypes.DEFAULT_TYPE) -> int:
        """Send every check-in that is due; return how many were sent."""
        sent = 0
        for conversation_id, chat_id in self._claim_due(now_iso()):
            replies = self.engine.respond(CHANNEL, chat_id, "utter_followup_checkin")
            await self.send(context.application, int(chat_id), replies)
            self.cancel_followup(conversation_id)  # sent: the chat id is no longer kept
            sent += 1
        return sent


def run_polling(app: Application) -> None:
    """Long polling, for development and small deployments."""
    app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)


__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL",
    "MAX_WEBHOOK_BODY",
    "WEBHOOK_PATH",
    "PerChatUpdateProcessor",
    "TelegramChannel",
    "run_polling",
    "secret_matches",
    "serve_webhook",
    "webhook_app",
    "webhook_route",
    "webhook_running",
    "webhook_secret",
]
