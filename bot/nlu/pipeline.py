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
PIPELINE_VERSION = "6"


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


# What a cached model may be made of: classes from these packages (constructing one runs
# no code of the file's choosing), and the few helpers numpy and re need to rebuild arrays
# and patterns. Anything else (os.system, eval, getattr, ...) makes the file unreadable,
# and it is retrained: a model cache that someone else wrote can never run code.
_SAFE_CLASS_MODULES = ("bot.nlu.", "sklearn.", "numpy", "scipy.sparse")
_SAFE_BUILTINS = frozenset({"set", "frozenset", "slice", "range", "complex", "bytearray"})
_SAFE_FUNCTIONS = frozenset(
    {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("copyreg", "_reconstructor"),
        ("re", "_compile"),
    }
)


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles only what a trained pipeline is made of (see _SAFE_CLASS_MODULES)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_FUNCTIONS or (module == "builtins" and name in _SAFE_BUILTINS):
            return super().find_class(module, name)
        if module == "numpy" or module.startswith(_SAFE_CLASS_MODULES):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a trained model")


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
                model = _ModelUnpickler(handle).load()
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
