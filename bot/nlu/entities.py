"""Entities: Rasa's regex extractor (lookup tables and regexes in nlu.yml) and synonym
mapper."""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from bot.nlu.base import Component, Message
from bot.training_data import TrainingData

log = logging.getLogger(__name__)


class RegexEntityExtractor(Component):
    """Find entities with the lookup tables and regular expressions of nlu.yml."""

    name = "RegexEntityExtractor"
    defaults: ClassVar[dict[str, Any]] = {
        "case_sensitive": False,
        "use_lookup_tables": True,
        "use_regexes": True,
        "use_word_boundaries": True,
    }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.patterns: list[tuple[str, re.Pattern[str]]] = []

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Compile one pattern per entity from lookups and regexes."""
        flags = 0 if self.options["case_sensitive"] else re.IGNORECASE
        sources: dict[str, list[str]] = {}
        if self.options["use_lookup_tables"]:
            for entity, values in data.lookups.items():
                # Longest first, so "crack cocaine" wins over "crack".
                ordered = sorted(values, key=len, reverse=True)
                sources.setdefault(entity, []).extend(re.escape(v) for v in ordered)
        if self.options["use_regexes"]:
            for entity, patterns in data.regexes.items():
                sources.setdefault(entity, []).extend(patterns)
        self.patterns = []
        for entity, alternatives in sources.items():
            body = "|".join(f"(?:{alt})" for alt in alternatives)
            if self.options["use_word_boundaries"]:
                body = rf"\b(?:{body})\b"
            self.patterns.append((entity, re.compile(body, flags)))

    def process(self, message: Message) -> None:
        """Add every match as an entity."""
        for entity, pattern in self.patterns:
            for match in pattern.finditer(message.text):
                message.entities.append(
                    {
                        "entity": entity,
                        "value": match.group(0),
                        "start": match.start(),
                        "end": match.end(),
                        "extractor": self.name,
                    }
                )


class EntitySynonymMapper(Component):
    """Map entity values to their canonical value from the synonyms in nlu.yml."""

    name = "EntitySynonymMapper"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.synonyms: dict[str, str] = {}

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Remember the synonyms."""
        self.synonyms = dict(data.synonyms)

    def process(self, message: Message) -> None:
        """Replace each entity value that has a synonym."""
        for entity in message.entities:
            canonical = self.synonyms.get(str(entity["value"]).lower())
            if canonical is not None:
                entity["value"] = canonical
                entity.setdefault("processors", []).append(self.name)
