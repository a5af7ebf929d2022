"""The NLU pipeline named in config.yml: training, on-disk cache and prediction."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import sklearn

from bot.nlu.components import COMPONENTS, Component, ConfigError, Message
from bot.training_data import TrainingData

log = logging.getLogger(__name__)

# Bump when the components change in a way that makes cached models stale.
PIPELINE_VERSION = "5"


def build_components(pipeline: list[dict[str, Any]]) -> list[Component]:
    """Create the components config.yml names; unknown names are a clear error."""
    components: list[Component] = []
    for position, spec in enumerate(pipeline, start=1):
        options = dict(spec)
        name = options.pop("name", None)
        if name not in COMPONENTS:
            known = ", ".join(sorted(COMPONENTS))
            raise ConfigError(
                f"pipeline item {position}: unknown component {name!r} (known: {known})"
            )
        components.append(COMPONENTS[name](options))
    return components


class NluPipeline:
    """A trained pipeline that turns text into an intent and entities."""

    def __init__(self, components: list[Component], intents: list[str]) -> None:
        self.components = components
        self.intents = intents

    @classmethod
    def train(cls, pipeline: list[dict[str, Any]], data: TrainingData) -> NluPipeline:
        """Train every component in order on the training examples."""
        components = build_components(pipeline)
        if not data.examples:
            raise ConfigError("there are no NLU examples to train on")
        labels = [intent for intent, _ in data.examples]
        messages = [Message(text=example.text) for _, example in data.examples]
        for component in components:
            component.train(messages, labels, data)
            for message in messages:
                component.process(message)
        return cls(components, data.intents())

    def parse(self, text: str) -> dict[str, Any]:
        """Parse a message the way Rasa's NLU does."""
        message = Message(text=text)
        for component in self.components:
            component.process(message)
        return {
            "text": text,
            "intent": message.intent or {"name": "nlu_fallback", "confidence": 0.0},
            "intent_ranking": message.intent_ranking,
            "entities": message.entities,
        }


def model_key(pipeline: list[dict[str, Any]], nlu_bytes: bytes) -> str:
    """A hash of everything that changes the trained model."""
    digest = hashlib.sha256()
    digest.update(PIPELINE_VERSION.encode())
    digest.update(sklearn.__version__.encode())
    digest.update(json.dumps(pipeline, sort_keys=True, default=str).encode())
    digest.update(nlu_bytes)
    return digest.hexdigest()[:24]


def load_or_train(
    pipeline: list[dict[str, Any]], nlu_path: Path, data: TrainingData, cache_dir: Path | None
) -> tuple[NluPipeline, bool]:
    """Load the cached model for this data and config, or train and cache it.

    Returns the pipeline and whether it was trained now.
    """
    build_components(pipeline)  # an unknown component fails before any cache look-up
    key = model_key(pipeline, nlu_path.read_bytes())
    cached = cache_dir / f"nlu-{key}.pkl" if cache_dir else None
    if cached and cached.exists():
        try:
            with cached.open("rb") as handle:
                model = pickle.load(handle)
            if isinstance(model, NluPipeline):
                return model, False
        except Exception:  # a damaged cache file is retrained, never fatal
            log.warning("the cached NLU model could not be read; training again")
    model = NluPipeline.train(pipeline, data)
    if cached:
        _save(model, cached)
    return model, True


def _save(model: NluPipeline, cached: Path) -> None:
    """Write the model atomically; a cache that cannot be written is only a warning."""
    tmp: str | None = None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(model, handle)
        os.replace(tmp, cached)
        tmp = None
    except OSError as exc:
        log.warning("the NLU model could not be cached in %s: %s", cached.parent, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
