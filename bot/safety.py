"""Crisis interception: checked on every message, before NLU, in every state.

The patterns live in knowledge/crisis.yml. Text is normalised first (case, repeated letters,
common text-speak and apostrophes) so typos and slang still match. There is no risk score:
any match gets the emergency signposting at once (NICE NG225 advises against risk tools).
"""

from __future__ import annotations

import re
import unicodedata

from bot.knowledge import CrisisFile

_REPEATS = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")
# Text-speak, expanded in this order: longer forms first, so "od'd" is not read as "od".
_SPEAK: list[tuple[str, str]] = [
    (r"\bu\b", "you"),
    (r"\bur\b", "your"),
    (r"\bim\b", "i am"),
    (r"\bi'm\b", "i am"),
    (r"\bdont\b", "don't"),
    (r"\bcant\b", "can't"),
    (r"\bwanna\b", "want to"),
    (r"\bgonna\b", "going to"),
    (r"\bplz\b", "please"),
    (r"\bpls\b", "please"),
    (r"\bkms\b", "kill myself"),
    (r"\bod'd\b", "overdosed"),
    (r"\bod'?ed\b", "overdosed"),
    (r"\bod'?ing\b", "overdosing"),
    # "odd" is an ordinary word ("that's odd"); only right after a person is it "OD'd".
    (
        r"\b(i|he|she|they|we|mate|friend|partner|son|daughter|brother|sister) odd\b",
        r"\1 overdosed",
    ),
    (r"\bod\b", "overdose"),
    (r"\bunalive\b", "kill"),
]
_SPEAK_PATTERNS = [(re.compile(pattern), replacement) for pattern, replacement in _SPEAK]


def normalise(text: str, *, repeats: int = 2) -> str:
    """Lower-case, plain-ASCII apostrophes, squeezed repeats and spaces, expanded text-speak.

    A run of three or more of one character becomes ``repeats`` of it: two by default
    ("sooo" -> "soo", "killll" -> "kill"), or one ("dieee" -> "die").
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _REPEATS.sub(r"\1" * repeats, text)
    text = _SPACES.sub(" ", text).strip()
    for pattern, replacement in _SPEAK_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class CrisisDetector:
    """Finds the first crisis category whose patterns match a message."""

    def __init__(self, crisis: CrisisFile) -> None:
        self.categories = [
            (category.id, category.response, [re.compile(p) for p in category.patterns])
            for category in crisis.categories
        ]
        self.ignore = [re.compile(p) for p in crisis.ignore]

    def check(self, text: str) -> str | None:
        """The id of the crisis category the text signals, or None."""
        # Stretched words ("i want to dieeee") only match once squeezed to one letter,
        # doubled letters ("kill", "too") only with two: both readings are checked.
        readings = dict.fromkeys((normalise(text), normalise(text, repeats=1)))
        cleaned = []
        for reading in readings:
            for pattern in self.ignore:
                reading = pattern.sub(" ", reading)
            cleaned.append(reading)
        for category_id, _response, patterns in self.categories:
            if any(p.search(reading) for p in patterns for reading in cleaned):
                return category_id
        return None

    def response_for(self, category_id: str) -> str:
        """The response that answers a category."""
        for known, response, _patterns in self.categories:
            if known == category_id:
                return response
        raise KeyError(category_id)
