"""Text as the safety net reads it: normalised (case, apostrophes, stretched words,
text-speak) and cut into segments (the whole, each sentence, word windows over long runs).

Shared by the crisis patterns (bot/safety.py) and the crisis classifier
(bot/crisis_model.py), so both see a message the same way.
"""

from __future__ import annotations

import re
import unicodedata

_REPEATS = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")
# Text-speak, expanded in this order: longer forms first, so "od'd" is not read as "od".
_SPEAK: list[tuple[str, str]] = [
    (r"\bu\b", "you"),
    (r"\bur\b", "your"),
    (r"\bim\b", "i am"),
    (r"\bi'm\b", "i am"),
    (r"\bive\b", "i've"),
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


# A run of words this long is also read in overlapping windows, so a crisis said in the
# middle of a long message with no full stops is not diluted by everything around it.
WINDOW_WORDS = 18
WINDOW_STEP = 9
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|[\r\n]+|(?<=[.!?])(?=[A-Za-z])|\s+(?:[-–—]{1,2}|;)\s+")


def segments(text: str) -> list[str]:
    """The whole text, each sentence of it, and word windows over long sentences."""
    sentences, windows = segments_by_kind(text)
    return list(dict.fromkeys([*sentences, *windows]))


def segments_by_kind(text: str) -> tuple[list[str], list[str]]:
    """The whole text and its sentences; and, apart, word windows over long sentences.

    Windows are cut without regard to meaning, so the classifier weighs them less (a phrase
    out of context looks more alarming than it is).
    """
    whole = " ".join(text.split())
    if not whole:
        return [], []
    parts: list[str] = [whole]
    sentences = [" ".join(s.split()) for s in _SENTENCE_END.split(text)]
    sentences = [s for s in sentences if s]
    if len(sentences) > 1:
        parts.extend(sentences)
    windows: list[str] = []
    for sentence in sentences:
        words = sentence.split()
        if len(words) > WINDOW_WORDS:
            last_start = len(words) - WINDOW_WORDS
            starts = list(range(0, last_start + 1, WINDOW_STEP))
            if starts[-1] != last_start:
                starts.append(last_start)
            windows.extend(" ".join(words[i : i + WINDOW_WORDS]) for i in starts)
    parts = list(dict.fromkeys(parts))
    return parts, [w for w in dict.fromkeys(windows) if w not in parts]
