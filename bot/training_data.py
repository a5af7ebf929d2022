"""Pydantic models of Rasa 3.x's nlu.yml, rules.yml and test stories, and their parsing.

NLU examples are written as Rasa writes them (a block of ``- example`` lines, with entities
annotated as ``[text](entity)`` or ``[text]{"entity": "x", "value": "y"}``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from bot.yamlfiles import ContentError, FieldError, Strict, load_model

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


class Entity(BaseModel):
    """An entity annotated in an example."""

    model_config = ConfigDict(frozen=True)

    entity: str
    value: str
    start: int
    end: int


class Example(BaseModel):
    """One training example: plain text plus its annotated entities."""

    model_config = ConfigDict(frozen=True)

    text: str
    entities: tuple[Entity, ...] = ()


def split_examples(block: str) -> list[str]:
    """Split Rasa's ``- example`` block into example strings."""
    examples: list[str] = []
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise ValueError(f"each example must start with '- ': {line[:40]!r}")
        examples.append(line[2:].strip())
    return examples


def parse_example(raw: str) -> Example:
    """Turn an annotated example into text and entities."""
    text_parts: list[str] = []
    entities: list[Entity] = []
    position = 0
    cursor = 0
    for match in _ANNOTATION.finditer(raw):
        before = raw[cursor : match.start()]
        text_parts.append(before)
        position += len(before)
        surface = match.group("text")
        if match.group("short"):
            name, _, value = match.group("short").partition(":")
            value = value or surface
        else:
            try:
                spec = json.loads(match.group("json"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"bad entity annotation {match.group(0)!r}") from exc
            name = spec.get("entity", "")
            value = str(spec.get("value", surface))
        if not name:
            raise ValueError(f"entity annotation without a name: {match.group(0)!r}")
        entities.append(
            Entity(entity=name, value=value, start=position, end=position + len(surface))
        )
        text_parts.append(surface)
        position += len(surface)
        cursor = match.end()
    text_parts.append(raw[cursor:])
    return Example(text="".join(text_parts), entities=tuple(entities))


class IntentBlock(Strict):
    """Examples of one intent."""

    intent: str
    examples: str
    metadata: Any = None

    @field_validator("examples")
    @classmethod
    def _parse(cls, value: str) -> str:
        for raw in split_examples(value):
            parse_example(raw)
        return value

    def parsed(self) -> list[Example]:
        """The examples with entities separated out."""
        return [parse_example(raw) for raw in split_examples(self.examples)]


class LookupBlock(Strict):
    """A lookup table: values an entity can take."""

    lookup: str
    examples: str

    def values(self) -> list[str]:
        """The listed values."""
        return split_examples(self.examples)


class SynonymBlock(Strict):
    """Words that all map to one entity value."""

    synonym: str
    examples: str

    def values(self) -> list[str]:
        """The listed words."""
        return split_examples(self.examples)


class RegexBlock(Strict):
    """Patterns that find an entity."""

    regex: str
    examples: str

    @field_validator("examples")
    @classmethod
    def _compiles(cls, value: str) -> str:
        for pattern in split_examples(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value

    def patterns(self) -> list[str]:
        """The listed patterns."""
        return split_examples(self.examples)


def _kind_by_key(keys: dict[str, str]):
    """A union discriminator: the member is chosen by the first of its keys that is present.

    Without it, pydantic tries every member and the first error reported is often about the
    wrong kind of block (a bad regex reported as "intent: Field required").
    """

    def kind(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return type(value).__name__
        if isinstance(value, dict):
            for key, tag in keys.items():
                if key in value:
                    return tag
        return None

    return kind


NluBlock = Annotated[
    Annotated[IntentBlock, Tag("IntentBlock")]
    | Annotated[LookupBlock, Tag("LookupBlock")]
    | Annotated[SynonymBlock, Tag("SynonymBlock")]
    | Annotated[RegexBlock, Tag("RegexBlock")],
    Discriminator(
        _kind_by_key(
            {
                "intent": "IntentBlock",
                "lookup": "LookupBlock",
                "synonym": "SynonymBlock",
                "regex": "RegexBlock",
            }
        ),
        custom_error_type="nlu_block",
        custom_error_message="a block needs one of 'intent', 'lookup', 'synonym' or 'regex'",
    ),
]


class NluFile(Strict):
    """The whole of nlu.yml."""

    version: str = "3.1"
    nlu: list[NluBlock] = []


class UserStep(Strict):
    """A user turn in a rule or story: an intent, maybe with entities and real text."""

    intent: str
    user: str | None = None
    entities: list[dict[str, Any] | str] = []


class ActionStep(Strict):
    """The bot running an action."""

    action: str


class LoopStep(Strict):
    """A form becoming active (a name) or ending (null)."""

    active_loop: str | None


class SlotStep(Strict):
    """Slots that were set at this point."""

    slot_was_set: list[dict[str, Any] | str]


Step = Annotated[
    Annotated[UserStep, Tag("UserStep")]
    | Annotated[ActionStep, Tag("ActionStep")]
    | Annotated[LoopStep, Tag("LoopStep")]
    | Annotated[SlotStep, Tag("SlotStep")],
    Discriminator(
        _kind_by_key(
            {
                "intent": "UserStep",
                "action": "ActionStep",
                "active_loop": "LoopStep",
                "slot_was_set": "SlotStep",
            }
        ),
        custom_error_type="step",
        custom_error_message=(
            "a step needs one of 'intent', 'action', 'active_loop' or 'slot_was_set'"
        ),
    ),
]


def slot_pairs(step: SlotStep) -> list[tuple[str, Any, bool]]:
    """(slot, value, value_given) for each entry of a slot_was_set step."""
    pairs: list[tuple[str, Any, bool]] = []
    for item in step.slot_was_set:
        if isinstance(item, str):
            pairs.append((item, None, False))
        else:
            pairs.extend((name, value, True) for name, value in item.items())
    return pairs


class Rule(Strict):
    """A rule, as Rasa's RulePolicy reads it."""

    rule: str
    steps: list[Step] = Field(min_length=1)
    condition: list[LoopStep | SlotStep] = []
    conversation_start: bool = False
    wait_for_user_input: bool = True
    metadata: Any = None


class RulesFile(Strict):
    """The whole of rules.yml."""

    version: str = "3.1"
    rules: list[Rule] = []


class Story(Strict):
    """A test story: real user text and the actions expected in reply."""

    story: str
    steps: list[Step] = Field(min_length=1)
    metadata: Any = None

    @model_validator(mode="after")
    def _user_text(self) -> Story:
        for index, step in enumerate(self.steps):
            if isinstance(step, UserStep) and step.user is None:
                raise FieldError(
                    ("steps", index), "every user step in a test story needs 'user' text"
                )
        return self


class StoriesFile(Strict):
    """A test-stories file (tests/test_stories.yml style)."""

    version: str = "3.1"
    stories: list[Story] = []


class TrainingData:
    """NLU examples, lookups, synonyms and regexes, ready for the pipeline."""

    def __init__(self, nlu: NluFile) -> None:
        self.file = nlu
        self.examples: list[tuple[str, Example]] = []
        self.lookups: dict[str, list[str]] = {}
        self.synonyms: dict[str, str] = {}
        self.regexes: dict[str, list[str]] = {}
        for block in nlu.nlu:
            if isinstance(block, IntentBlock):
                self.examples.extend((block.intent, ex) for ex in block.parsed())
            elif isinstance(block, LookupBlock):
                self.lookups.setdefault(block.lookup, []).extend(block.values())
            elif isinstance(block, SynonymBlock):
                for word in block.values():
                    self.synonyms[word.lower()] = block.synonym
            else:
                self.regexes.setdefault(block.regex, []).extend(block.patterns())
        for _, example in self.examples:
            for entity in example.entities:
                surface = example.text[entity.start : entity.end]
                if surface.lower() != entity.value.lower():
                    self.synonyms.setdefault(surface.lower(), entity.value)

    @classmethod
    def load(cls, path: Path) -> TrainingData:
        """Load and validate nlu.yml."""
        return cls(load_model(path, NluFile))

    def intents(self) -> list[str]:
        """Every intent with examples, in first-seen order."""
        return list(dict.fromkeys(intent for intent, _ in self.examples))


def load_rules(path: Path) -> RulesFile:
    """Load and validate rules.yml."""
    return load_model(path, RulesFile)


def load_stories(path: Path) -> StoriesFile:
    """Load and validate a test-stories file."""
    return load_model(path, StoriesFile)


__all__ = ["ContentError", "TrainingData", "load_rules", "load_stories"]
