"""The safety net: checked on every message, before NLU, in every state.

A message is a crisis if the patterns in knowledge/crisis.yml OR the trained classifier
(bot/crisis_model.py) say so. Both read the whole text and each sentence of it, before any
cutting: only what goes to NLU is capped. There is no risk score: any crisis gets the
emergency signposting for its category at once (NICE NG225 advises against risk tools).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.crisis_model import CrisisClassifier, Scored, load_examples, train_cached
from bot.crisis_text import normalise, segments_by_kind
from bot.knowledge import CrisisFile, Knowledge
from bot.settings import Settings
from bot.training_data import TrainingData

__all__ = ["CrisisDetector", "CrisisFinding", "Reading", "SafetyNet", "normalise"]


class CrisisDetector:
    """Finds the first crisis category whose patterns match a message."""

    def __init__(self, crisis: CrisisFile) -> None:
        self.categories = [
            (category.id, [re.compile(p) for p in category.patterns])
            for category in crisis.categories
        ]
        self.ignore = [re.compile(p) for p in crisis.ignore]
        self.past = [re.compile(p) for p in crisis.past]
        self._ignore_any_case = [re.compile(p, re.IGNORECASE) for p in crisis.ignore]

    def without_ignored(self, text: str) -> str:
        """The text with idioms on the ignore list taken out (line breaks kept)."""
        for pattern in self._ignore_any_case:
            text = pattern.sub(" ", text)
        return text

    def check(self, text: str) -> str | None:
        """The id of the crisis category the text signals, or None.

        The whole text is read, and each sentence; a sentence told about the past (a
        ``past:`` marker in it) is left to the classifier.
        """
        sentences, _windows = segments_by_kind(text)
        if len(sentences) > 1:
            sentences = sentences[1:]  # each sentence; together they are the whole text
        cleaned = []
        for sentence in sentences:
            # Stretched words ("i want to dieeee") only match once squeezed to one letter,
            # doubled letters ("kill", "too") only with two: both readings are checked.
            for reading in dict.fromkeys((normalise(sentence), normalise(sentence, repeats=1))):
                if any(p.search(reading) for p in self.past):
                    continue
                for pattern in self.ignore:
                    reading = pattern.sub(" ", reading)
                cleaned.append(reading)
        for category_id, patterns in self.categories:
            if any(p.search(reading) for p in patterns for reading in cleaned):
                return category_id
        return None


@dataclass(frozen=True)
class CrisisFinding:
    """What the safety net found: the category, and which net caught it."""

    category: str
    by_patterns: bool
    by_classifier: bool


@dataclass(frozen=True)
class Reading:
    """Both nets' view of one message: the pattern category, and the classifier's reading."""

    pattern: str | None
    scored: Scored | None

    @property
    def score(self) -> float:
        """The classifier's crisis probability (0 when there is no classifier)."""
        return self.scored.score if self.scored else 0.0


class SafetyNet:
    """Patterns or classifier: either one is enough to answer a message as a crisis."""

    def __init__(self, crisis: CrisisFile, classifier: CrisisClassifier | None) -> None:
        self.crisis = crisis
        self.patterns = CrisisDetector(crisis)
        self.classifier = classifier
        self.counterparts = {c.id: c.counterpart for c in crisis.categories if c.counterpart}
        self.urgent = {c.id: c.first_line == "emergency" for c in crisis.categories}
        self.may_become = {c.id: set(c.may_become) for c in crisis.categories}

    @classmethod
    def from_knowledge(
        cls,
        crisis: CrisisFile,
        examples_dir: Path,
        ordinary: list[str] | None = None,
        cache_dir: Path | None = None,
    ) -> SafetyNet:
        """Train the classifier and combine it with the patterns.

        ``ordinary`` are everyday messages (the NLU examples of dialogues/nlu.yml), used as
        further negatives beside the hard negatives in knowledge/crisis_examples/. The trained
        model is kept in ``cache_dir`` (plain arrays, never a pickle).
        """
        labels = {category.id for category in crisis.categories}
        examples = load_examples(examples_dir, labels)
        settings = crisis.classifier
        classifier = train_cached(
            examples, ordinary or [], settings.threshold, settings.window_weight, cache_dir
        )
        return cls(crisis, classifier)

    @classmethod
    def from_settings(
        cls, settings: Settings, knowledge: Knowledge, training: TrainingData
    ) -> SafetyNet:
        """The net as the bot runs it: content, everyday NLU examples and model folder."""
        return cls.from_knowledge(
            knowledge.crisis,
            settings.knowledge_dir / "crisis_examples",
            ordinary_messages(training),
            settings.model_cache_dir,
        )

    def read(self, text: str) -> Reading:
        """What each net makes of a message, before deciding. Reads all of it."""
        # Idioms on the ignore list ("killing time") are taken out for the classifier too.
        scored = (
            self.classifier.read(self.patterns.without_ignored(text)) if self.classifier else None
        )
        return Reading(self.patterns.check(text), scored)

    def decide(self, reading: Reading) -> CrisisFinding | None:
        """A crisis if either net says so, with the category whose reply fits best."""
        scored = reading.scored
        by_classifier = scored is not None and scored.score >= self.crisis.classifier.threshold
        category = reading.pattern or (scored.category if by_classifier and scored else None)
        if category is None:
            return None
        # Both nets fired on different kinds: the one that puts 999 first wins.
        if (
            by_classifier
            and scored is not None
            and self.urgent.get(scored.category)
            and not self.urgent.get(category)
            and (not self.may_become.get(category) or scored.category in self.may_become[category])
        ):
            category = scored.category
        counterpart = self.counterparts.get(category)
        # Whose overdose it is decides the reply: the classifier was trained on both.
        if (
            counterpart
            and scored is not None
            and scored.probabilities.get(counterpart, 0.0)
            > scored.probabilities.get(category, 0.0)
        ):
            category = counterpart
        return CrisisFinding(category, reading.pattern is not None, by_classifier)

    def check(self, text: str) -> CrisisFinding | None:
        """The crisis in a message, or None. Reads all of it, however long."""
        return self.decide(self.read(text))


# NLU intents whose examples are not ordinary messages for the classifier: asking for help
# now is close enough to a crisis that it must not be taught as "not a crisis".
NOT_ORDINARY = {"get_help", "crisis"}


def ordinary_messages(training: TrainingData) -> list[str]:
    """Everyday messages from dialogues/nlu.yml, as extra negatives for the classifier."""
    return [example.text for intent, example in training.examples if intent not in NOT_ORDINARY]
