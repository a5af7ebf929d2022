"""The pipeline's building blocks: the message that moves through it and the component
base class (each takes the options Rasa documents for the component of the same name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import scipy.sparse as sp

from bot.training_data import TrainingData


class ConfigError(Exception):
    """config.yml names a component or option this engine does not know."""


@dataclass
class Message:
    """A message moving through the pipeline."""

    text: str
    tokens: list[str] = field(default_factory=list)
    features: list[sp.csr_matrix] = field(default_factory=list)
    intent: dict[str, Any] = field(default_factory=dict)
    intent_ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    # Words of the message that the word featurizer knows from training (None: not counted).
    known_words: int | None = None
    # A second model read the message differently (SecondOpinionClassifier): not a sure call.
    disputed: bool = False


class Component:
    """A pipeline component: trained on the examples, then applied to each message."""

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ConfigError(f"{self.name} has no option(s): {', '.join(sorted(unknown))}")
        self.options = {**self.defaults, **options}

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Learn from the training messages (already processed by earlier components)."""

    def process(self, message: Message) -> None:
        """Add this component's output to the message."""
