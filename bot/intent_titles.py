"""dialogues/intent_titles.yml: the plain button title of each intent a person can ask for.

Used by the "did you mean" step (actions/fallback.py) and checked by `validate` against the
domain's intents.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.yamlfiles import load_model

# Answers to a question the bot asked: they are never offered as a reading of a message.
ANSWER_INTENTS = frozenset({"affirm", "deny", "im_fine", "inform", "not_sure"})


class IntentTitles(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    titles: dict[str, str] = Field(min_length=1)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> IntentTitles:
    return load_model(Path(path), IntentTitles)


def load_intent_titles(path: Path) -> IntentTitles:
    """The titles file, read again only when it changes."""
    return _load(str(path), path.stat().st_mtime)
