"""No dead ends, no loops (bot/engine/next_step.py, issue 10)."""

from __future__ import annotations

import pytest

from bot.engine.next_step import CLOSING, has_next_step, reply_key
from bot.engine.responses import render_response
from bot.engine.turn import Turn
from bot.intent_titles import ANSWER_INTENTS
from tests.helpers import payloads, say, texts


def test_a_reply_with_buttons_or_a_goodbye_has_a_next_step():
    assert has_next_step([{"text": "a", "buttons": [{"title": "b", "payload": "/x"}]}])
    assert has_next_step([{"text": "bye", "response": "utter_goodbye"}])
    assert not has_next_step([{"text": "a", "response": "utter_cost"}])


def test_the_reply_key_depends_on_text_and_buttons():
    one = [{"text": "a", "buttons": [{"title": "b", "payload": "/x"}]}]
    two = [{"text": "a", "buttons": [{"title": "b", "payload": "/y"}]}]
    assert reply_key(one) == reply_key([dict(one[0])])
    assert reply_key(one) != reply_key(two)


def test_every_response_in_the_domain_ends_with_a_next_step(engine):
    """Walk every response: alone at the end of a turn, it leaves with a way on."""
    state = engine._new_state("walker")
    for name in engine.domain.responses:
        message = render_response(engine.domain, name, state.slots, "test", "seed", {})
        if message is None:
            continue
        turn = Turn(
            state=state,
            channel="test",
            latest_message={},
            loop_before=None,
            requested_before=None,
            messages=[message],
        )
        state.last_reply = ""
        engine._next_step(turn)
        assert turn.messages[-1].get("buttons") or name in CLOSING, name


def intents_a_person_can_ask(engine):
    return sorted(
        i
        for i in engine.domain.intents
        if i not in ANSWER_INTENTS and i not in {"crisis", "start", "something_else"}
    )


@pytest.mark.parametrize("first", [None, "/list_options"])
async def test_every_intent_leaves_the_person_a_way_on(engine, first):
    for number, intent in enumerate(intents_a_person_can_ask(engine)):
        chat = f"walk-{first}-{number}"
        if first:
            await say(engine, first, chat)
        replies = await say(engine, f"/{intent}", chat)
        assert replies, intent
        state = engine.store.load(engine.conversation_id("test", chat))
        in_form = state is not None and state.active_loop is not None
        closing = intent in {"goodbye"}
        assert replies[-1].buttons or in_form or closing, f"{intent}: {texts(replies)}"


async def test_the_same_reply_is_never_sent_twice_in_a_row(engine):
    first = await say(engine, "/cost", "loop")
    second = await say(engine, "/cost", "loop")
    assert texts(first) != texts(second)
    assert "what I said just now" in texts(second)
    assert '/list_options{"list_scope": "all"}' in payloads(second)
    assert "/plan_meeting" in payloads(second)
    assert "/get_help" in payloads(second)
    third = await say(engine, "/cost", "loop")
    assert texts(third) == texts(first)


async def test_crisis_help_is_always_said_again_in_full(engine):
    first = await say(engine, "i want to kill myself", "again")
    second = await say(engine, "i want to kill myself", "again")
    assert "116 123" in texts(first)
    assert "116 123" in texts(second)
    assert "what I said just now" not in texts(second)
