"""One turn of conversation: safety, NLU, slot filling, rules and forms, actions, replies.

The data flow is the one in DESIGN.md: channel -> crisis check -> NLU -> policy -> actions
-> responses -> channel. The tracker is loaded from SQLite before the turn and saved after
it, so a restart of the process loses nothing; what a person typed is never saved.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.domain import Domain, Slot, SlotMapping
from bot.engine.actions import ActionClient, ActionFailed, HttpActions, InProcessActions
from bot.engine.actions import build_action_call as _build_call
from bot.engine.config import BotConfig, load_config
from bot.engine.long_messages import read_long
from bot.engine.next_step import (
    NEXT_STEPS,
    SAID_ALREADY,
    add_buttons,
    has_next_step,
    reply_key,
)
from bot.engine.payloads import parse_payload, parse_start, payload_shaped
from bot.engine.policy import ACTION_LISTEN, RulePolicy, TrailItem, trail_from_history
from bot.engine.responses import render_response
from bot.intent_titles import load_intent_titles
from bot.keyed_locks import KeyedLocks
from bot.knowledge import Knowledge, Site, load_sites
from bot.links import LinkError, LinkService
from bot.nlu.pipeline import NluPipeline, load_or_train
from bot.poster import make_qr
from bot.pseudonym import Pseudonymiser, load_or_create_secret
from bot.safety import CrisisFinding, SafetyNet
from bot.settings import Settings
from bot.staff import StaffService, format_stats
from bot.store import ConversationState, TrackerStore
from bot.training_data import RulesFile, TrainingData, load_rules

log = logging.getLogger(__name__)

CRISIS_INTENT = "crisis"
CRISIS_ACTION = "action_crisis_support"
START_INTENT = "start"
CRISIS_SHOWN_SLOT = "crisis_shown"
HANDOFF_SLOT = "last_handoff"
STAFF_LINK_DAYS = 365
CLIENT_LINK_HOURS = 24
_STAFF = re.compile(r"^/staff(?:@\w+)?\s+(?P<code>[A-Za-z0-9 -]{4,40})$", re.IGNORECASE)
_STAFF_ONLY = re.compile(r"^/(?P<command>link|clientlink|stats)(?:@\w+)?$", re.IGNORECASE)
GET_HELP_PAYLOAD = "/get_help"
MAX_ACTIONS_PER_TURN = 12
MAX_TEXT = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORGET = re.compile(r"^/forget(?:@\w+)?$", re.IGNORECASE)
_UNKNOWN_COMMAND = re.compile(r"^/[A-Za-z]\w*(?:@\w+)?(?:\s|$)")


@dataclass
class BotReply:
    """One message from the bot: text and buttons (payload or URL)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: bytes | None = None  # a PNG (staff QR codes)

    def as_rest(self, recipient_id: str) -> dict[str, Any]:
        """The message in the shape of Rasa's REST channel output."""
        out: dict[str, Any] = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.image:
            out["image"] = "data:image/png;base64," + base64.b64encode(self.image).decode()
        return out


def _parse_as(text: str, intent: str) -> dict[str, Any]:
    """A parse decided by the engine, not the NLU: this intent, certain, no entities."""
    guess = {"name": intent, "confidence": 1.0}
    return {"text": text, "intent": guess, "intent_ranking": [guess], "entities": []}


@dataclass
class Turn:
    """What happens while the bot answers one message (held in memory only)."""

    state: ConversationState
    channel: str
    latest_message: dict[str, Any]
    loop_before: str | None
    requested_before: str | None
    filled: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    actions_run: list[str] = field(default_factory=list)
    followup: str | None = None
    history_start: int = 0

    @property
    def intent(self) -> str:
        """The intent of the message being answered."""
        return str(self.latest_message["intent"]["name"])


def qr_png(data: str) -> bytes:
    """A QR code of the data as PNG bytes, for staff to show or print."""
    buffer = io.BytesIO()
    make_qr(data).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def clean_text(text: str) -> str:
    """Strip control characters; the whole text is kept for the safety net.

    A command typed or pasted with look-alike or invisible characters ("\u200b/forget",
    full-width letters) must still work, so a message that starts with "/" after those
    are taken out is read in NFKC form without format characters.
    """
    text = _CONTROL.sub(" ", text).strip()
    command = "".join(c for c in unicodedata.normalize("NFKC", text) if not _is_format(c))
    return command.strip() if command.strip().startswith("/") else text


def _is_format(character: str) -> bool:
    """Zero-width spaces and joiners, direction marks and the like (Unicode category Cf)."""
    return unicodedata.category(character) == "Cf"


def nlu_text(text: str) -> str:
    """What goes to NLU: capped, since only the safety net must read every word."""
    return text[:MAX_TEXT]


class Engine:
    """The bot: give it a message from a chat, get the replies back."""

    def __init__(
        self,
        settings: Settings,
        *,
        action_client: ActionClient | None = None,
        store: TrackerStore | None = None,
    ) -> None:
        started = time.perf_counter()
        self.settings = settings
        self.config: BotConfig = load_config(settings.config_path)
        self.domain = Domain.load(settings.dialogues_dir / "domain.yml")
        nlu_path = settings.dialogues_dir / "nlu.yml"
        self.training = TrainingData.load(nlu_path)
        self.rules: RulesFile = load_rules(settings.dialogues_dir / "rules.yml")
        self.policy = RulePolicy(self.rules.rules)
        self.knowledge = Knowledge(settings.knowledge_dir)
        self.knowledge.load_all()
        self.safety = SafetyNet.from_settings(settings, self.knowledge, self.training)
        self.nlu: NluPipeline
        self.nlu, self.trained_now = load_or_train(
            self.config.pipeline_specs(), nlu_path, self.training, settings.model_cache_dir
        )
        self.store = store or TrackerStore(settings.db_path)
        key = load_or_create_secret(settings.secret_path)
        self.pseudonyms = Pseudonymiser(key)
        self.sites: list[Site] = load_sites(settings.sites_path)
        # In-process actions read the sites file through the same setting.
        os.environ["MUTUAL_AID_SITES"] = str(settings.sites_path)
        self.links = LinkService.from_settings(settings, self.store, self.sites)
        self.staff = StaffService(self.store, key, self.sites)
        self.housekeeping()
        if action_client is not None:
            self.actions: ActionClient = action_client
        elif settings.action_endpoint:
            self.actions = HttpActions(str(settings.action_endpoint))
        else:
            self.actions = InProcessActions()
        self.known_intents = set(self.domain.intents)
        self.domain_dict = self.domain.as_rasa_dict()
        self.transient = self.domain.transient_slots()
        self._locks = KeyedLocks()
        # Support-line numbers from knowledge/ fill {emergency}, {samaritans}, ... in every
        # response, so no number is typed into dialogues/ without its source.
        self.template_values = {
            line.id: line.contact.value for line in self.knowledge.support_lines
        }
        # Called after each turn with the conversation id, the intent and the actions run
        # (names only, never text): for metrics, debugging and the conversation tests.
        self.turn_listeners: list[Callable[[str, str, list[str]], None]] = []
        self.start_seconds = time.perf_counter() - started

    # ----- public -----------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Erase idle conversations and long-expired short codes (at start-up and daily)."""
        purged = self.store.purge_idle(self.settings.retention_days)
        pruned = self.links.prune_codes()
        if purged or pruned:
            log.info("housekeeping: erased %d idle conversations, %d old codes", purged, pruned)

    def conversation_id(self, channel: str, chat_id: str) -> str:
        """The pseudonymous id stored for a chat."""
        return self.pseudonyms.conversation_id(channel, chat_id)

    async def handle(self, channel: str, chat_id: str, text: str) -> list[BotReply]:
        """Answer one message from one chat."""
        conversation_id = self.conversation_id(channel, chat_id)
        async with self._locks.hold(conversation_id):
            return await self._handle(conversation_id, channel, text)

    def forget(self, channel: str, chat_id: str) -> bool:
        """Erase everything stored about a chat."""
        return self._erase(self.conversation_id(channel, chat_id))

    def _erase(self, conversation_id: str) -> bool:
        """/forget: the conversation, its staff enrolment, buttons and check-ins."""
        self.staff.forget(conversation_id)
        return self.store.forget(conversation_id)

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
        staff_replies = self._staff_command(conversation_id, channel, text, state)
        if staff_replies is not None:
            return staff_replies
        if not text:
            return self._standalone("utter_empty_message", channel, conversation_id, state)
        message = self._understand(text, state)
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
        await self._predict_and_run(turn)
        self._offer_the_rest(turn)
        self._next_step(turn)
        log.debug("turn: intent %s, actions %s", turn.intent, ", ".join(turn.actions_run))
        for listener in self.turn_listeners:
            listener(conversation_id, turn.intent, list(turn.actions_run))
        self._keep_help_in_reach(turn)
        replies = [self._to_reply(m) for m in turn.messages]
        for reply in replies:
            for button in reply.buttons:
                if "payload" in button and button["payload"] not in state.offered:
                    state.offered.append(button["payload"])
        state.turns += 1
        self.store.save(state, self.transient)
        return replies

    def _staff_command(
        self, conversation_id: str, channel: str, text: str, state: ConversationState
    ) -> list[BotReply] | None:
        """Staff enrolment and staff-only commands; None means: an ordinary message."""
        enrol = _STAFF.match(text)
        if enrol:
            site = self.staff.enrol(conversation_id, enrol.group("code"))
            if site is None:
                return None  # a wrong code looks like any message the bot does not know
            return self._staff_reply("utter_staff_enrolled", channel, state, site_name=site.name)
        command = _STAFF_ONLY.match(text)
        if not command:
            return None
        site = self.staff.site_of(conversation_id)
        if site is None:
            return None  # nothing tells a non-staff person that these commands exist
        name = command.group("command").lower()
        if name == "stats":
            stats = format_stats(self.staff.stats(site.id), site.name)
            return self._staff_reply("utter_staff_stats", channel, state, stats=stats)
        single = name == "clientlink"
        expires = timedelta(hours=CLIENT_LINK_HOURS) if single else timedelta(days=STAFF_LINK_DAYS)
        payload = self.links.make_payload(site.id, expires, single_use=single)
        info = self.links.verify(payload, consume=False)
        code = self.links.short_code(payload, site.id, info.expires_at)
        url = self.links.public_link(payload)
        replies = self._staff_reply(
            "utter_staff_clientlink" if single else "utter_staff_link",
            channel,
            state,
            site_name=site.name,
            url=url,
            code=code,
            expires=info.expires_at.strftime("%d %B %Y, %H:%M UTC"),
        )
        if replies:
            replies[0].image = qr_png(url)
        return replies

    def _staff_reply(
        self, response: str, channel: str, state: ConversationState, **values: Any
    ) -> list[BotReply]:
        message = render_response(
            self.domain,
            response,
            state.slots,
            channel,
            state.id,
            {**self.template_values, **values},
        )
        return [self._to_reply(message)] if message else []

    def _offer_the_rest(self, turn: Turn) -> None:
        """A message that asked several things: the others, offered as buttons."""
        also = (turn.latest_message.get("metadata") or {}).get("also") or []
        titles = load_intent_titles(self.settings.dialogues_dir / "intent_titles.yml").titles
        buttons = [{"title": titles[n], "payload": f"/{n}"} for n in also if n in titles]
        if not buttons or not turn.messages or turn.state.active_loop:
            return
        message = render_response(
            self.domain,
            "utter_also_asked",
            turn.state.slots,
            turn.channel,
            turn.state.id,
            self.template_values,
        )
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
                self._utter(turn, SAID_ALREADY)
            if not has_next_step(turn.messages):
                steps = render_response(
                    self.domain, NEXT_STEPS, state.slots, turn.channel, state.id
                )
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

    def _standalone(
        self,
        response: str,
        channel: str,
        conversation_id: str,
        state: ConversationState | None = None,
    ) -> list[BotReply]:
        slots = state.slots if state else self.domain.initial_slots()
        message = render_response(
            self.domain, response, slots, channel, conversation_id, self.template_values
        )
        return [self._to_reply(message)] if message else []

    def _understand(self, text: str, state: ConversationState) -> dict[str, Any]:
        """Intent and entities: /start, an offered payload, a crisis, or NLU."""
        is_start, start_arg = parse_start(text)
        if not is_start:
            coded = self.links.resolve_code(text)
            if coded is not None:  # a code from a poster, typed because the link lost it
                is_start, start_arg = True, coded
        if is_start and START_INTENT in self.known_intents:
            return {
                "text": text,
                "intent": {"name": START_INTENT, "confidence": 1.0},
                "entities": [],
                "metadata": {"start_payload": start_arg},
            }
        payload = parse_payload(text, state.offered, self.known_intents)
        if payload is not None:
            return {
                "text": text,
                "intent": {"name": payload.intent, "confidence": 1.0},
                "entities": payload.entities,
            }
        crisis = self.safety.check(text)
        if crisis is not None:
            self._count_crisis(crisis, state)
            return {
                "text": text,
                "intent": {"name": CRISIS_INTENT, "confidence": 1.0},
                "entities": [
                    {"entity": "crisis_type", "value": crisis.category, "extractor": "safety"}
                ],
            }
        text = nlu_text(text)
        shaped = payload_shaped(text)
        if shaped is not None:
            # A payload with entities that was never offered here (typed, stale, or another
            # chat's) sets nothing: it counts as its intent with no entities, so typing can
            # never set a slot, and a form just asks its question again.
            known = shaped in self.known_intents and shaped != CRISIS_INTENT
            return _parse_as(text, shaped if known else "nlu_fallback")
        if _UNKNOWN_COMMAND.match(text):
            # A command the bot does not have ("/blorf", a wrong "/staff" code) is not
            # understood, whatever its words: every one gets the same answer, so nothing
            # tells a visitor which commands exist.
            return _parse_as(text, "nlu_fallback")
        return self._parse(text)

    def _parse(self, text: str) -> dict[str, Any]:
        """NLU, which never decides a crisis: only the safety net does."""
        parsed = read_long(self.nlu.parse, text)
        if parsed["intent"]["name"] == CRISIS_INTENT:
            # Only from an nlu.yml that still has crisis examples (validate refuses them).
            parsed["intent"] = {"name": "nlu_fallback", "confidence": 0.0}
        return parsed

    def _count_crisis(self, crisis: CrisisFinding, state: ConversationState) -> None:
        """Count the signposting by category: no text and no conversation id."""
        site_id = state.slots.get("site_id")
        # The category and which net caught it: names only, never what was typed.
        log.info(
            "crisis signposting: %s (patterns: %s, classifier: %s)",
            crisis.category,
            crisis.by_patterns,
            crisis.by_classifier,
        )
        self.store.record_event(
            "crisis", site_id if isinstance(site_id, str) else None, [crisis.category]
        )

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
            self._extract_slots(turn)

    def _apply_start_link(self, turn: Turn) -> None:
        """Check a start link's payload and tie the chat to its site (or say why not)."""
        payload = (turn.latest_message.get("metadata") or {}).get("start_payload")
        if not payload:
            self._set_slot(turn, "link_status", "none")
            return
        try:
            info = self.links.verify(payload, consume=True)
        except LinkError as error:
            status = error.reason if error.reason in ("expired", "reused") else "invalid"
            self._set_slot(turn, "link_status", status)
            return
        self._set_slot(turn, "link_status", "ok")
        self._set_slot(turn, "site_id", info.site.id)
        self._set_slot(turn, "site_name", info.site.name)
        self._set_slot(turn, "setting", info.site.kind)
        self.store.record_event("start", info.site.id)

    # ----- slots ------------------------------------------------------------------------

    def _mapping_applies(self, mapping: SlotMapping, turn: Turn) -> bool:
        if mapping.conditions and not any(
            c.active_loop == turn.loop_before
            and (c.requested_slot is None or c.requested_slot == turn.requested_before)
            for c in mapping.conditions
        ):
            return False
        if mapping.intents() and turn.intent not in mapping.intents():
            return False
        return turn.intent not in mapping.not_intents()

    def _extract_slots(self, turn: Turn) -> None:
        entities = turn.latest_message.get("entities", [])
        for name, slot in self.domain.slots.items():
            for mapping in slot.mappings:
                if mapping.type in ("custom", "from_trigger_intent"):
                    continue
                if not self._mapping_applies(mapping, turn):
                    continue
                found, value = False, None
                if mapping.type == "from_entity":
                    values = [
                        e["value"]
                        for e in entities
                        if e.get("entity") == mapping.entity
                        and (mapping.role is None or e.get("role") == mapping.role)
                        and (mapping.group is None or e.get("group") == mapping.group)
                    ]
                    if values:
                        found, value = True, values if slot.type == "list" else values[0]
                elif mapping.type == "from_intent":
                    found, value = True, mapping.value
                elif mapping.type == "from_text":
                    found, value = True, turn.latest_message["text"]
                if found:
                    self._set_slot(turn, name, value)
                    turn.filled.add(name)
                    break

    @staticmethod
    def coerce(slot: Slot, value: Any) -> Any:
        """Make a value fit the slot's type, as Rasa's slot types do."""
        if value is None:
            return None
        if slot.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1"):
                return True
            if text in ("false", "no", "0"):
                return False
            return None
        if slot.type == "float":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
        if slot.type == "list":
            return list(value) if isinstance(value, list | tuple) else [value]
        if slot.type == "categorical":
            for allowed in slot.values or []:
                if str(allowed).lower() == str(value).lower():
                    return allowed
            return None
        return value

    def _set_slot(self, turn: Turn, name: str, value: Any) -> None:
        slot = self.domain.slots.get(name)
        if slot is None and name != "requested_slot":
            log.warning("an action set unknown slot %s; ignored", name)
            return
        if slot is not None:
            value = self.coerce(slot, value)
        turn.state.slots[name] = value
        turn.events.append({"event": "slot", "name": name, "value": value})

    # ----- prediction -------------------------------------------------------------------

    def _trail(self, state: ConversationState) -> list[TrailItem]:
        return trail_from_history(state.history)

    def _predict_rule(self, turn: Turn, skip: frozenset[str] = frozenset()) -> Any:
        trail = self._trail(turn.state)
        intents = sum(1 for kind, _ in trail if kind == "intent")
        return self.policy.predict(
            trail,
            turn.state.slots,
            turn.state.active_loop,
            conversation_start=intents <= 1,
            skip_actions=skip,
        )

    def _next_action(self, turn: Turn) -> str | None:
        if turn.followup:
            action, turn.followup = turn.followup, None
            return action
        just_after_user = not turn.actions_run
        if turn.intent == CRISIS_INTENT:
            return CRISIS_ACTION if just_after_user else ACTION_LISTEN
        loop = turn.state.active_loop
        prediction = self._predict_rule(turn)
        if loop:
            if just_after_user:
                requested = turn.requested_before
                if requested is None or requested in turn.filled:
                    return loop
                if prediction and prediction.action != ACTION_LISTEN:
                    return prediction.action
                return loop
            if turn.actions_run[-1] == loop:
                return ACTION_LISTEN
            if prediction and (prediction.action != ACTION_LISTEN or prediction.explicit_loop):
                return prediction.action
            return loop
        if prediction:
            return prediction.action
        if just_after_user:
            return self.config.rule_policy.core_fallback_action_name
        return ACTION_LISTEN

    async def _predict_and_run(self, turn: Turn) -> None:
        for _ in range(MAX_ACTIONS_PER_TURN):
            action = self._next_action(turn)
            if action is None or action == ACTION_LISTEN:
                return
            await self._run_action(turn, action)
        log.warning("stopped a turn after %d actions", MAX_ACTIONS_PER_TURN)

    # ----- actions ----------------------------------------------------------------------

    async def _run_action(self, turn: Turn, action: str) -> None:
        turn.actions_run.append(action)
        state = turn.state
        if action in self.domain.forms:
            await self._run_form(turn, action)
            return
        state.history.append({"action": action})
        turn.events.append({"event": "action", "name": action})
        if action in self.domain.responses:
            self._utter(turn, action)
        elif action == "action_restart":
            self._restart(turn)
            self._utter(turn, "utter_restart")
        elif action == "action_default_fallback":
            self._utter(turn, "utter_default")
        elif action == "action_deactivate_loop":
            self._set_loop(turn, None)
        elif action in self.domain.custom_actions:
            await self._run_custom(turn, action)
        else:
            log.error("the policy predicted unknown action %s", action)
            self._utter(turn, "utter_default")

    def _utter(self, turn: Turn, response: str, extra: dict[str, Any] | None = None) -> None:
        seed = f"{turn.state.id}:{turn.state.turns}"
        message = render_response(
            self.domain,
            response,
            turn.state.slots,
            turn.channel,
            seed,
            {**self.template_values, **(extra or {})},
        )
        if message:
            turn.messages.append(message)

    def _set_loop(self, turn: Turn, name: str | None) -> None:
        turn.state.active_loop = name
        turn.state.history.append({"active_loop": name})
        turn.events.append({"event": "active_loop", "name": name})
        if name is None:
            turn.state.slots["requested_slot"] = None

    def _restart(self, turn: Turn) -> None:
        state = turn.state
        state.slots = self.domain.initial_slots()
        state.active_loop = None
        state.history = []
        state.offered = []
        turn.events.append({"event": "restart"})

    async def _run_form(self, turn: Turn, form_name: str) -> None:
        state = turn.state
        form = self.domain.forms[form_name]
        state.history.append({"action": form_name})
        turn.events.append({"event": "action", "name": form_name})
        candidates: set[str] = set()
        if state.active_loop != form_name:
            self._set_loop(turn, form_name)
            for slot_name in form.required_slots:
                for mapping in self.domain.slots[slot_name].mappings:
                    if mapping.type == "from_trigger_intent" and self._mapping_applies(
                        mapping, turn
                    ):
                        self._set_slot(turn, slot_name, mapping.value)
                        candidates.add(slot_name)
                        break
            candidates |= turn.filled & set(form.required_slots)
        elif turn.actions_run == [form_name]:
            candidates = turn.filled & set(form.required_slots)
        validator = f"validate_{form_name}"
        if candidates and validator in self.domain.custom_actions:
            trailing = [
                {"event": "slot", "name": s, "value": state.slots.get(s)}
                for s in form.required_slots
                if s in candidates
            ]
            await self._run_custom(turn, validator, trailing)
            if state.active_loop != form_name:
                return
        missing = next((s for s in form.required_slots if state.slots.get(s) is None), None)
        if missing is None:
            self._set_loop(turn, None)
            return
        self._set_slot(turn, "requested_slot", missing)
        for ask in (f"action_ask_{form_name}_{missing}", f"action_ask_{missing}"):
            if ask in self.domain.custom_actions:
                await self._run_custom(turn, ask)
                return
        for ask in (f"utter_ask_{form_name}_{missing}", f"utter_ask_{missing}"):
            if ask in self.domain.responses:
                self._utter(turn, ask)
                return
        log.error("form %s has no question for slot %s", form_name, missing)

    def _tracker(self, turn: Turn, trailing: list[dict[str, Any]]) -> dict[str, Any]:
        state = turn.state
        events: list[dict[str, Any]] = []
        for entry in state.history[: turn.history_start]:
            if "intent" in entry:
                events.append(
                    {"event": "user", "parse_data": {"intent": {"name": entry["intent"]}}}
                )
            elif "action" in entry:
                events.append({"event": "action", "name": entry["action"]})
            elif "active_loop" in entry:
                events.append({"event": "active_loop", "name": entry["active_loop"]})
        events.extend(turn.events)
        events.extend(trailing)
        latest_action = turn.actions_run[-1] if turn.actions_run else ACTION_LISTEN
        return {
            "sender_id": state.id,
            "slots": dict(state.slots),
            "latest_message": turn.latest_message,
            "latest_event_time": time.time(),
            "followup_action": None,
            "paused": False,
            "events": events,
            "latest_input_channel": turn.channel,
            "active_loop": {"name": state.active_loop} if state.active_loop else {},
            "latest_action": {"action_name": latest_action},
            "latest_action_name": latest_action,
        }

    async def _run_custom(
        self,
        turn: Turn,
        action: str,
        trailing: list[dict[str, Any]] | None = None,
    ) -> None:
        call = _build_call(action, self._tracker(turn, trailing or []), self.domain_dict)
        try:
            result = await self.actions.run(call)
            rendered = [self._render_dispatched(turn, m) for m in result.get("responses", [])]
        except ActionFailed:
            self._utter(turn, "utter_error")
            return
        except Exception as exc:
            # Any other client, or a malformed result: the person still gets an answer.
            # Only the type is logged: the tracker may hold what a person typed.
            log.error("action %s failed: %s", action, type(exc).__name__)
            self._utter(turn, "utter_error")
            return
        turn.messages.extend(message for message in rendered if message)
        self._apply_events(turn, result.get("events", []))

    def _render_dispatched(self, turn: Turn, message: dict[str, Any]) -> dict[str, Any] | None:
        response = message.get("response") or message.get("template")
        if response:
            standard = {"text", "buttons", "response", "template", "elements", "custom"}
            standard |= {"image", "attachment", "json_message", "quick_replies"}
            extra = {k: v for k, v in message.items() if k not in standard and v is not None}
            seed = f"{turn.state.id}:{turn.state.turns}"
            rendered = render_response(
                self.domain,
                response,
                turn.state.slots,
                turn.channel,
                seed,
                {**self.template_values, **extra},
            )
            if rendered is not None and message.get("buttons"):
                # Buttons an action builds (options in this chat's order) replace the
                # response's own.
                rendered["buttons"] = list(message["buttons"])
            return rendered
        if not message.get("text"):
            return None
        return {"text": message["text"], "buttons": message.get("buttons") or []}

    def _apply_events(self, turn: Turn, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "slot" and event.get("name") == HANDOFF_SLOT:
                self._record_handoff(event.get("value"))
            elif kind == "slot":
                self._set_slot(turn, str(event.get("name")), event.get("value"))
            elif kind in ("active_loop", "form"):
                name = event.get("name")
                if name is None or name in self.domain.forms:
                    self._set_loop(turn, name)
            elif kind == "followup":
                name = event.get("name")
                if isinstance(name, str) and self.domain.is_action(name):
                    turn.followup = name
            elif kind == "restart":
                self._restart(turn)
            elif kind == "reset_slots":
                turn.state.slots = self.domain.initial_slots()

    def _record_handoff(self, value: Any) -> None:
        """Record that a form was offered: the site and field names, never the values."""
        if not isinstance(value, dict):
            return
        site_id = value.get("site_id")
        fields = [str(f) for f in value.get("fields") or [] if isinstance(f, str)]
        if any(site.id == site_id for site in self.sites):
            self.store.record_event("handoff", str(site_id), fields)

    @staticmethod
    def _to_reply(message: dict[str, Any]) -> BotReply:
        return BotReply(text=message.get("text", ""), buttons=list(message.get("buttons") or []))
