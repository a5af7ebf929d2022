"""Shared fixtures: settings in a temporary data folder, and engines built on them.

Every test gets its own data folder (SQLite file, secret key). The trained NLU model is
cached once per test session, so tests do not retrain it each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.engine import Engine
from bot.settings import PROJECT_DIR, Settings

SHARED_DIR = PROJECT_DIR.parent / "shared"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> None:
    """No MUTUAL_AID_* setting leaks in from the shell or from an earlier test's engine.

    The one exception: every test shares the session's model cache, so a test with its own
    data folder does not train the NLU again (about 30 s each).
    """
    import os

    for name in list(os.environ):
        if name.startswith("MUTUAL_AID_"):
            monkeypatch.delenv(name)
    # Engines export the sites file for in-process actions; undo that after each test.
    monkeypatch.delenv("MUTUAL_AID_SITES", raising=False)
    monkeypatch.setenv("MUTUAL_AID_MODELS_DIR", str(models_dir))


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One NLU model cache for the whole test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path: Path, models_dir: Path) -> Settings:
    """Settings with a fresh data folder and the project's own content."""
    return Settings(data_dir=tmp_path / "data", models_dir=models_dir, content_dir=PROJECT_DIR)


@pytest.fixture
def make_engine(settings: Settings) -> Iterator[Callable[..., Engine]]:
    """Build engines on the test's settings (several share one database file)."""
    built: list[Engine] = []

    def make(**kwargs: object) -> Engine:
        engine = build_engine(kwargs.pop("settings", settings), **kwargs)  # type: ignore[arg-type]
        # The last turn of each conversation (intent and actions), for the tests to check.
        turns: dict[str, tuple[str, list[str]]] = {}
        engine.turn_listeners.append(
            lambda cid, intent, acts: turns.__setitem__(cid, (intent, acts))
        )
        engine.recorded_turns = turns  # type: ignore[attr-defined]
        built.append(engine)
        return engine

    yield make
    for engine in built:
        engine.store.close()


@pytest.fixture
def engine(make_engine: Callable[..., Engine]) -> Engine:
    """An engine with in-process actions and a fresh database."""
    return make_engine()


def shared_or_skip(*parts: str) -> Path:
    """A path inside ../shared, or skip the test when shared/ is not beside the repo."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: shared/ only exists beside the development repo")
    return path


# The web server fixtures (tests/web_server.py), for the HTTP and browser tests.
from tests.web_server import start_web, web  # noqa: E402, F401
