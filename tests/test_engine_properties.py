"""Property-based tests of the engine (hypothesis): any sequence of typed text, offered and
stale buttons, /forget, /restart and process restarts never raises, always answers, and
leaves a tracker that is valid for the domain."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_engine
from bot.engine import Engine
from bot.store import HISTORY_LIMIT, OFFERED_LIMIT

pytestmark = pytest.mark.slow

PHRASES = [
    "hi",
    "what groups are there",
    "my husband drinks too much",
    "is it free",
    "i want to plan a meeting",
    "can you refer me",
    "no",
    "yes",
    "not sure",
    "i slipped up at the weekend",
    "im scared to go alone",
    "i took too many pills",  # a crisis, in the middle of anything
    "/start",
    "/stop",
    "/blorf",
    '/inform{"option": "aa"}',  # a payload typed, never offered
]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.sampled_from(PHRASES)),
        st.tuples(st.just("say"), st.text(max_size=300)),
        st.tuples(st.just("press"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("restart_process"), st.none()),
        st.tuples(st.just("say"), st.sampled_from(["/forget", "/restart"])),
    ),
    min_size=1,
    max_size=12,
)


def _check_tracker(engine: Engine, chat: str) -> None:
    state = engine.store.load(engine.conversation_id("test", chat))
    if state is None:
        return  # forgotten, or nothing said yet
    domain = engine.domain
    assert state.active_loop is None or state.active_loop in domain.forms
    if state.active_loop is not None and state.requested_slot is not None:
        assert state.requested_slot in domain.forms[state.active_loop].required_slots
    assert set(state.slots) <= set(domain.slots) | {"requested_slot"}
    assert len(state.history) <= HISTORY_LIMIT
    assert len(state.offered) <= OFFERED_LIMIT
    assert state.turns >= 0


@pytest.fixture(scope="module")
def bot_settings(tmp_path_factory: pytest.TempPathFactory, models_dir: Any) -> Any:
    from bot.settings import PROJECT_DIR, Settings

    data = tmp_path_factory.mktemp("properties")
    return Settings(data_dir=data, models_dir=models_dir, content_dir=PROJECT_DIR)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps, chat=st.sampled_from(["p1", "p2", "p3"]))
def test_any_sequence_answers_and_keeps_the_tracker_valid(
    bot_settings: Any, script: list[tuple[str, Any]], chat: str
) -> None:
    async def run() -> None:
        engine = build_engine(bot_settings)
        offered: list[str] = []
        try:
            for kind, value in script:
                if kind == "restart_process":
                    engine.store.close()
                    engine = build_engine(bot_settings)
                    continue
                if kind == "press":
                    if not offered:
                        continue
                    text = offered[value % len(offered)]
                else:
                    text = value
                replies = await engine.handle("test", chat, text)
                assert replies, f"no answer to {text!r}"
                assert all(isinstance(r.text, str) for r in replies)
                fresh = [b["payload"] for r in replies for b in r.buttons if "payload" in b]
                offered = fresh or offered  # old buttons stay pressable, as on a phone
                _check_tracker(engine, chat)
        finally:
            engine.store.close()

    asyncio.run(run())
