"""Crisis handling: first on every message, in every state, and help kept one tap away."""

from __future__ import annotations

import pytest

from tests.helpers import payloads, say, texts

CRISIS_MESSAGES = [
    ("i want to kill myself", "116 123"),
    ("my mate od'd and isnt breathing", "ambulance"),
    ("been cutting myself again", "116 123"),
    ("she's having a seizure", "999"),
    ("i'm not safe at home", "999"),
]


@pytest.mark.parametrize(("message", "expected"), CRISIS_MESSAGES)
async def test_crisis_first_message(engine, message, expected):
    replies = await say(engine, message)
    assert expected in replies[0].text
    assert "999" in texts(replies)
    assert "/get_help" in payloads(replies)


@pytest.mark.parametrize(
    "setup",
    [
        [],
        ["/start"],
        ["/list_options"],
        ["/plan_meeting"],
        ["/plan_meeting", '/inform{"option": "aa"}'],
        ["purple monkey dishwasher"],
        ["/restart"],
    ],
)
async def test_crisis_answers_first_in_every_state(engine, setup):
    for message in setup:
        await say(engine, message)
    replies = await say(engine, "i dont want to be here anymore")
    assert "116 123" in replies[0].text
    assert len(replies) == 1  # no form question or menu pushed in the same turn


async def test_fine_after_a_crisis_keeps_help_offered(engine):
    await say(engine, "i want to end it all")
    replies = await say(engine, "im fine honestly")
    assert "help is here any time" in texts(replies)
    assert "/get_help" in payloads(replies)
    # Later turns still end with a way to get help now.
    replies = await say(engine, "/list_options")
    assert replies[-1].buttons[-1]["payload"] == "/get_help"
    replies = await say(engine, "what is mutual aid")
    assert "/get_help" in [b.get("payload") for b in replies[-1].buttons]


async def test_fine_without_a_crisis_is_just_ok(engine):
    replies = await say(engine, "im fine")
    assert "help is here any time" not in texts(replies)


async def test_get_help_lists_every_general_line(engine):
    body = texts(await say(engine, "/get_help"))
    for line in engine.knowledge.support_lines:
        if line.topic == "general":
            assert line.contact.value in body
            assert line.name in body
        else:
            assert line.contact.value not in body


async def test_crisis_found_only_by_nlu_still_gets_signposting(engine):
    # The NLU's crisis intent is a second net behind the patterns.
    replies = await say(engine, "/crisis")
    assert "116 123" in texts(replies)
    assert "999" in texts(replies)
