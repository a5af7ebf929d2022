"""What a message means, in order: a start link or short code, a button that was offered,
a crisis (the safety net reads the whole text, before anything is cut), then NLU.

NLU never decides a crisis: only the safety net does.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from bot.engine.long_messages import read_long
from bot.engine.payloads import parse_payload, parse_start, payload_shaped
from bot.engine.turn import CRISIS_INTENT, START_INTENT, nlu_text, parse_as
from bot.knowledge import Site
from bot.nlu.pipeline import NluPipeline
from bot.safety import CrisisFinding, SafetyNet
from bot.store import ConversationState, TrackerStore

log = logging.getLogger(__name__)

_UNKNOWN_COMMAND = re.compile(r"^/[A-Za-z]\w*(?:@\w+)?(?:\s|$)")


class StartLinks(Protocol):
    """Start links and short codes (bot/links.py), as the engine uses them."""

    def resolve_code(self, text: str, conversation_id: str = "") -> str | None:
        """The payload behind a typed short code, or None (limited per chat)."""
        ...

    def open(self, payload: str) -> tuple[str, Site | None]:
        """("ok", site) for a usable payload, else (reason, None)."""
        ...

    def prune_codes(self) -> int:
        """Delete long-expired short codes; how many went."""
        ...


class Understanding:
    """Turns a message into a parse: intent, confidence and entities, as Rasa's NLU does."""

    def __init__(
        self,
        links: StartLinks,
        safety: SafetyNet,
        nlu: NluPipeline,
        known_intents: set[str],
        store: TrackerStore,
    ) -> None:
        self.links = links
        self.safety = safety
        self.nlu = nlu
        self.known_intents = known_intents
        self.store = store

    def read(self, text: str, state: ConversationState) -> dict[str, Any]:
        """Intent and entities: /start, an offered payload, a crisis, or NLU."""
        is_start, start_arg = parse_start(text)
        if not is_start:
            coded = self.links.resolve_code(text, state.id)
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
            return parse_as(text, shaped if known else "nlu_fallback")
        if _UNKNOWN_COMMAND.match(text):
            # A command the bot does not have ("/blorf", a wrong "/staff" code) is not
            # understood, whatever its words: every one gets the same answer, so nothing
            # tells a visitor which commands exist.
            return parse_as(text, "nlu_fallback")
        return self.parse(text)

    def parse(self, text: str) -> dict[str, Any]:
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
