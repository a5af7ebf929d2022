"""One turn of conversation: interceptors, safety, understanding, the dialogue, replies.

The data flow is the one in ../shared/DESIGN.md: channel -> crisis check -> NLU -> policy ->
actions -> responses -> channel. The tracker is loaded from SQLite before the turn and saved
after it, so a restart of the process loses nothing; what a person typed is never saved.
The engine is given its parts (bot/app.py assembles them) and imports no channel and no
feature module: features such as staff commands plug in as interceptors.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import Domain
from bot.engine.actions import ActionClient
from bot.engine.config import BotConfig
from bot.engine.dialogue import Dialogue
from bot.engine.interceptors import Intercepted, Interceptor
from bot.engine.next_step import NEXT_STEPS, SAID_ALREADY, add_buttons, has_next_step, reply_key
from bot.engine.policy import RulePolicy
from bot.engine.responses import render_response
from bot.engine.turn import CRISIS_ACTION, CRISIS_INTENT, START_INTENT, BotReply, Turn, clean_text
from bot.engine.understanding import StartLinks, Understanding
from bot.intent_titles import load_intent_titles
from bot.keyed_locks import KeyedLocks
from bot.knowledge import Knowledge, Site
from bot.nlu.pipeline import NluPipeline
from bot.pseudonym import Pseudonymiser
from bot.safety import SafetyNet
from bot.settings import Settings
from bot.store import ConversationState, TrackerStore
from bot.training_data import TrainingData

log = logging.getLogger(__name__)

CRISIS_SHOWN_SLOT = "crisis_shown"
GET_HELP_PAYLOAD = "/get_help"
_FORGET = re.compile(r"^/forget(?:@\w+)?$", re.IGNORECASE)


@dataclass
class EngineParts:
    """Everything a bot is made of, assembled by bot/app.py."""

    settings: Settings
    config: BotConfig
    domain: Domain
    training: TrainingData
    policy: RulePolicy
    knowledge: Knowledge
    safety: SafetyNet
    nlu: NluPipeline
    trained_now: bool
    store: TrackerStore
    pseudonyms: Pseudonymiser
    sites: list[Site]
    links: Any  # a StartLinks; the link service itself, for channels and tests
    actions: ActionClient


class Engine:
    """The bot: give it a message from a chat, get the replies back."""

    def __init__(self, parts: EngineParts, interceptors: Sequence[Interceptor] = ()) -> None:
        started = time.perf_counter()
        self.settings = parts.settings
        self.config = parts.config
        self.domain = parts.domain
        self.training = parts.training
        self.policy = parts.policy
        self.knowledge = parts.knowledge
        self.safety = parts.safety
        self.nlu = parts.nlu
        self.trained_now = parts.trained_now
        self.store = parts.store
        self.pseudonyms = parts.pseudonyms
        self.sites = parts.sites
        self.links: StartLinks = parts.links
        self.actions = parts.actions
        self.interceptors = list(interceptors)
        self.known_intents = set(self.domain.intents)
        self.transient = self.domain.transient_slots()
        self._locks = KeyedLocks()
        # Support-line numbers from knowledge/ fill {emergency}, {samaritans}, ... in every
        # response, so no number is typed into dialogues/ without its source.
        self.template_values = {
            line.id: line.contact.value for line in self.knowledge.support_lines
        }
        self.understanding = Understanding(
            parts.links, self.safety, self.nlu, self.known_intents, self.store
        )
        self.dialogue = Dialogue(
            self.domain,
            self.policy,
            self.config.rule_policy.core_fallback_action_name,
            self.actions,
            self.template_values,
            self._record_handoff,
        )
        # Called after each turn with the conversation id, the intent and the actions run
        # (names only, never text): for metrics, debugging and the conversation tests.
        self.turn_listeners: list[Callable[[str, str, list[str]], None]] = []
        # Turns answered without the database (it failed): the CLI exits non-zero if any.
        self.storage_failures = 0
        self.housekeeping()
        self.start_seconds = time.perf_counter() - started

    # ----- public -----------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Erase idle conversations and long-expired short codes (at start-up and daily)."""
        purged = self.store.purge_idle(self.settings.retention_days, also=self._forget_elsewhere)
        pruned = self.links.prune_codes()
        if purged or pruned:
            log.info("housekeeping: erased %d idle conversations, %d old codes", purged, pruned)

    def conversation_id(self, channel: str, chat_id: str) -> str:
        """The pseudonymous id stored for a chat."""
        return self.pseudonyms.conversation_id(channel, chat_id)

    def find(self, kind: type[Any]) -> Any:
        """The plugged-in interceptor of this kind, or None."""
        return next((i for i in self.interceptors if isinstance(i, kind)), None)

    async def handle(self, channel: str, chat_id: str, text: str) -> list[BotReply]:
        """Answer one message from one chat."""
        conversation_id = self.conversation_id(channel, chat_id)
        async with self._locks.hold(conversation_id):
            try:
                return await self._handle(conversation_id, channel, text)
            except sqlite3.Error as error:
                return self._without_store(conversation_id, channel, text, error)

    def _without_store(
        self, conversation_id: str, channel: str, raw: str, error: sqlite3.Error
    ) -> list[BotReply]:
        """The database failed (disk full, read-only, locked): still answer, crisis first."""
        self.storage_failures += 1
        # The cause and the path, for whoever runs the bot; SQLite's message never holds
        # what a person typed.
        log.error(
            "the database at %s cannot be used (%s: %s); answered without it",
            self.settings.db_path,
            type(error).__name__,
            error,
        )
        text = clean_text(raw if isinstance(raw, str) else "")
        crisis = self.safety.check(text) if text else None
        if crisis is not None:
            response = next(
                c.response for c in self.knowledge.crisis.categories if c.id == crisis.category
            )
            replies = self._standalone(response, channel, conversation_id)
            if replies:
                return replies
        return self._standalone("utter_store_unavailable", channel, conversation_id)

    def forget(self, channel: str, chat_id: str) -> bool:
        """Erase everything stored about a chat."""
        return self._erase(self.conversation_id(channel, chat_id))

    def _erase(self, conversation_id: str) -> bool:
        """/forget: the conversation, what interceptors keep, buttons and check-ins."""
        self._forget_elsewhere(conversation_id)
        return self.store.forget(conversation_id)

    def _forget_elsewhere(self, conversation_id: str) -> None:
        """What the interceptors keep about a conversation (a staff enrolment)."""
        for interceptor in self.interceptors:
            interceptor.forget(conversation_id)

    def respond(self, channel: str, chat_id: str, response: str) -> list[BotReply]:
        """One response from the domain, outside a turn (check-ins, channel notices)."""
        conversation_id = self.conversation_id(channel, chat_id)
        state = self.store.load(conversation_id)
        return self._standalone(response, channel, conversation_id, state)

    async def take_slots(self, channel: str, chat_id: str, names: list[str]) -> dict[str, Any]:
        """Read slots a channel acts on (e.g. a check-in request) and reset them."""
        conversation_id = self.conversation_id(channel, chat_id)
        async with self._locks.hold(conversation_id):
            state = self.store.load(conversation_id)
            if state is None:
                return {}
            initial = self.domain.initial_slots()
            taken = {name: state.slots.get(name) for name in names}
            changed = {n: v for n, v in taken.items() if v != initial.get(n)}
            if changed:
                for name in changed:
                    state.slots[name] = initial.get(name)
                self.store.save(state, self.transient)
            return changed

    # ----- the turn ---------------------------------------------------------------------

    async def _handle(self, conversation_id: str, channel: str, raw: str) -> list[BotReply]:
        text = clean_text(raw if isinstance(raw, str) else "")
        if _FORGET.match(text):
            self._erase(conversation_id)
            return self._standalone("utter_forgotten", channel, conversation_id)
        state = self.store.load(conversation_id) or self._new_state(conversation_id)
        intercepted = self._intercept(conversation_id, channel, text, state)
        if intercepted is not None:
            return intercepted
        if not text:
            return self._standalone("utter_empty_message", channel, conversation_id, state)
        message = self.understanding.read(text, state)
        # As in Rasa, every parse has a ranking (actions read the intent from it).
        message.setdefault("intent_ranking", [dict(message["intent"])])
        turn = Turn(
            state=state,
            channel=channel,
            latest_message=message,
            loop_before=state.active_loop,
            requested_before=state.requested_slot,
            history_start=len(state.history),
        )
        self._apply_user_message(turn)
        await self.dialogue.run(turn)
        self._offer_the_rest(turn)
        self._next_step(turn)
        log.debug("turn: intent %s, actions %s", turn.intent, ", ".join(turn.actions_run))
        for listener in self.turn_listeners:
            listener(conversation_id, turn.intent, list(turn.actions_run))
        self._keep_help_in_reach(turn)
        replies = [BotReply.from_message(m) for m in turn.messages]
        for reply in replies:
            for button in reply.buttons:
                if "payload" in button and button["payload"] not in state.offered:
                    state.offered.append(button["payload"])
        state.turns += 1
        self.store.save(state, self.transient)
        return replies

    def _intercept(
        self, conversation_id: str, channel: str, text: str, state: ConversationState
    ) -> list[BotReply] | None:
        """The first interceptor's answer, or None when none takes the message."""
        if not self.interceptors:
            return None

        def reply(response: str, **values: Any) -> list[BotReply]:
            return self._standalone(response, channel, conversation_id, state, values)

        message = Intercepted(conversation_id, channel, text, state, reply)
        for interceptor in self.interceptors:
            replies = interceptor.intercept(message)
            if replies is not None:
                return replies
        return None

    def _offer_the_rest(self, turn: Turn) -> None:
        """A message that asked several things: the others, offered as buttons."""
        also = (turn.latest_message.get("metadata") or {}).get("also") or []
        titles = load_intent_titles(self.settings.dialogues_dir / "intent_titles.yml").titles
        buttons = [{"title": titles[n], "payload": f"/{n}"} for n in also if n in titles]
        if not buttons or not turn.messages or turn.state.active_loop:
            return
        message = self._render("utter_also_asked", turn.state, turn.channel, turn.state.id)
        if message:
            message["buttons"] = buttons
            turn.messages.append(message)

    def _next_step(self, turn: Turn) -> None:
        """No repeats and no dead ends (bot/engine/next_step.py)."""
        state = turn.state
        in_form = state.active_loop is not None
        crisis = CRISIS_ACTION in turn.actions_run
        if turn.messages and not in_form and not crisis:
            if reply_key(turn.messages) == state.last_reply:
                turn.messages = []
                self.dialogue.utter(turn, SAID_ALREADY)
            if not has_next_step(turn.messages):
                steps = self._render(NEXT_STEPS, state, turn.channel, state.id)
                if steps and steps.get("buttons"):
                    add_buttons(turn.messages, steps["buttons"])
        state.last_reply = reply_key(turn.messages) if turn.messages else ""

    def _keep_help_in_reach(self, turn: Turn) -> None:
        """After a crisis message, every turn ends with a "Get help now" button."""
        if turn.state.slots.get(CRISIS_SHOWN_SLOT) is not True or not turn.messages:
            return
        last = turn.messages[-1]
        buttons = list(last.get("buttons") or [])
        if any(b.get("payload") == GET_HELP_PAYLOAD for b in buttons):
            return
        title = render_response(self.domain, "utter_get_help_button", {}, turn.channel, "")
        if title:
            buttons.append({"title": title["text"], "payload": GET_HELP_PAYLOAD})
            last["buttons"] = buttons

    def _new_state(self, conversation_id: str) -> ConversationState:
        return ConversationState(id=conversation_id, slots=self.domain.initial_slots())

    def _render(
        self,
        response: str,
        state: ConversationState | None,
        channel: str,
        seed: str,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """A domain response outside the dialogue loop, with the support-line numbers."""
        slots = state.slots if state else self.domain.initial_slots()
        extra = {**self.template_values, **values} if values else self.template_values
        return render_response(self.domain, response, slots, channel, seed, extra)

    def _standalone(
        self,
        response: str,
        channel: str,
        conversation_id: str,
        state: ConversationState | None = None,
        values: dict[str, Any] | None = None,
    ) -> list[BotReply]:
        message = self._render(response, state, channel, conversation_id, values)
        return [BotReply.from_message(message)] if message else []

    def _apply_user_message(self, turn: Turn) -> None:
        state = turn.state
        state.history.append({"intent": turn.intent})
        turn.events.append(
            {
                "event": "user",
                "text": turn.latest_message["text"],
                "parse_data": turn.latest_message,
                "input_channel": turn.channel,
            }
        )
        if turn.intent == START_INTENT:
            self._apply_start_link(turn)
        if turn.intent != CRISIS_INTENT:
            self.dialogue.slots.extract(turn)

    def _apply_start_link(self, turn: Turn) -> None:
        """Check a start link's payload and tie the chat to its site (or say why not)."""
        slots = self.dialogue.slots
        payload = (turn.latest_message.get("metadata") or {}).get("start_payload")
        if not payload:
            slots.set(turn, "link_status", "none")
            return
        status, site = self.links.open(payload)
        slots.set(turn, "link_status", status)
        if site is None:
            return
        slots.set(turn, "site_id", site.id)
        slots.set(turn, "site_name", site.name)
        slots.set(turn, "setting", site.kind)
        self.store.record_event("start", site.id)

    def _record_handoff(self, value: Any) -> None:
        """Record that a form was offered: the site and field names, never the values."""
        if not isinstance(value, dict):
            return
        site_id = value.get("site_id")
        fields = [str(f) for f in value.get("fields") or [] if isinstance(f, str)]
        if any(site.id == site_id for site in self.sites):
            self.store.record_event("handoff", str(site_id), fields)
