"""Where custom actions find their content and sites: passed in, never through os.environ.

In process, the engine's action runner sets the configuration for the length of each action
call (a context variable, so two engines with different content in one process never see
each other's). A separate action server (``python -m rasa_sdk --actions actions``) has no
engine around it and reads its own settings from its environment (``MUTUAL_AID_CONTENT_DIR``,
``MUTUAL_AID_SITES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings


@dataclass(frozen=True)
class ActionConfig:
    """The folders and files an action reads."""

    content_dir: Path
    sites_path: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionConfig:
        """The configuration for these settings."""
        return cls(settings.content_dir, settings.sites_path)


_CURRENT: ContextVar[ActionConfig | None] = ContextVar("action_config", default=None)


def current() -> ActionConfig:
    """The configuration of the running action call, or the process's own settings."""
    config = _CURRENT.get()
    return config if config is not None else ActionConfig.from_settings(Settings())


@contextmanager
def configured(config: ActionConfig) -> Iterator[None]:
    """Run the actions called inside with this configuration."""
    token = _CURRENT.set(config)
    try:
        yield
    finally:
        _CURRENT.reset(token)
