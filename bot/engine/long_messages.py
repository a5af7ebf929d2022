"""Reading a message that asks several things: each sentence is parsed on its own.

The reply answers the one that matters most (withdrawal, then treatment; otherwise what the
whole message reads as, which keeps its context, or else the likeliest sentence; a crisis
never gets here, the safety net answers it first), and the engine offers the others as
buttons. Small talk ("hiya", "thanks") and bare answers in a longer
message are not questions, so they are never chosen over one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.crisis_text import segments
from bot.intent_titles import ANSWER_INTENTS

FALLBACK = "nlu_fallback"
# Most important first; any other intent ranks after these, by confidence.
PRIORITY = ("withdrawal", "treatment")
NOT_QUESTIONS = frozenset({"greet", "goodbye", "thanks", "out_of_scope"}) | ANSWER_INTENTS
MIN_WORDS = 2
MAX_OTHERS = 2


def read_long(parse: Callable[[str], dict[str, Any]], text: str) -> dict[str, Any]:
    """The parse of the whole text, or of its most important sentence.

    The result keeps the whole text and the entities found in it; ``metadata.also`` names
    the other intents asked about (at most two), for the engine to offer as buttons.
    """
    whole = parse(text)
    sentences = [s for s in segments(text) if len(s.split()) >= MIN_WORDS]
    if len(sentences) < 2:
        return whole
    readings: list[tuple[int, float, str, dict[str, Any]]] = []
    for sentence in sentences:
        parsed = parse(sentence)
        name = parsed["intent"]["name"]
        if name == FALLBACK or name in NOT_QUESTIONS:
            continue
        rank = PRIORITY.index(name) if name in PRIORITY else len(PRIORITY)
        readings.append((rank, -float(parsed["intent"]["confidence"]), name, parsed))
    if not readings:
        return whole
    whole_name = whole["intent"]["name"]
    if whole_name != FALLBACK and whole_name not in NOT_QUESTIONS:
        # The whole message is one more reading, with its context: it wins ties of rank.
        rank = PRIORITY.index(whole_name) if whole_name in PRIORITY else len(PRIORITY)
        readings.append((rank, -2.0, whole_name, whole))
    readings.sort(key=lambda item: item[:2])
    best = readings[0]
    others: list[str] = []
    for _, _, name, _ in readings[1:]:
        if name != best[2] and name not in others:
            others.append(name)
    if best[2] == whole_name and not others:
        return whole
    chosen = dict(whole if best[2] == whole_name else best[3])
    chosen["text"] = text
    chosen["entities"] = whole["entities"]
    if others:
        chosen["metadata"] = {"also": others[:MAX_OTHERS]}
    return chosen
