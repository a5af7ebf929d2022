"""Understanding through the whole engine (issue 9): the new questions, entities that shape
the answer, "did you mean" instead of a guess, answers that need a question, and messages
that ask several things.

Where a test is about the engine and not about the model's judgement, the NLU's parse is
fixed with a stand-in, so the test does not change when the training data does.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Engine
from bot.knowledge import Knowledge
from bot.settings import PROJECT_DIR
from tests.helpers import payloads, say, texts

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
KNOWLEDGE.load_all()
LINES = {line.id: line.contact.value for line in KNOWLEDGE.support_lines}


def last_turn(engine: Engine, chat_id: str = "tester") -> tuple[str, list[str]]:
    return engine.recorded_turns[engine.conversation_id("test", chat_id)]


def fixed_parse(engine: Engine, ranking: list[tuple[str, float]], **extra: Any) -> None:
    """Make the NLU give this ranking (top first) for every message."""

    def parse(text: str) -> dict[str, Any]:
        top = {"name": ranking[0][0], "confidence": ranking[0][1]}
        return {
            "text": text,
            "intent": top,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "entities": extra.get("entities", []),
        }

    engine.nlu.parse = parse  # type: ignore[method-assign]


# ----- the new questions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "intent", "action"),
    [
        ("is it free to go or do u have to pay", "cost", "action_cost"),
        ("what actually happens at a first meeting, do i have to talk", "first_meeting", None),
        ("where are the meetings near me and what times", "find_meeting", None),
        ("whats the phone number for AA", "group_contact", "action_group_contact"),
        ("i had a drink at the weekend after 3 months off it", "relapse", "utter_relapse"),
        ("im 15 is there a group for people my age", "under_18", "utter_under_18"),
        ("will the group sign my sheet for probation", "proof_of_attendance", None),
        ("i think my own drinking is getting out of hand", "own_use", "utter_own_use"),
    ],
)
async def test_the_new_questions_get_their_own_answer(engine, message, intent, action):
    await say(engine, "/start")
    await say(engine, message)
    got, actions = last_turn(engine)
    assert got == intent
    if action:
        assert action in actions


async def test_a_groups_phone_number_is_that_groups_not_the_emergency_list(engine):
    aa = KNOWLEDGE.options_by_id["aa"]
    replies = await say(engine, "whats the phone number for AA")
    said = texts(replies)
    assert aa.website.value in said
    assert aa.helpline is not None
    assert aa.helpline.number.value in said
    assert LINES["samaritans"] not in said


async def test_group_contact_without_a_group_asks_which(engine):
    fixed_parse(engine, [("group_contact", 0.95), ("get_help", 0.05)])
    replies = await say(engine, "their number")
    assert "Which group" in texts(replies)
    assert '/group_contact{"option": "aa"}' in payloads(replies)
    details = await say(engine, '/group_contact{"option": "aa"}')
    assert KNOWLEDGE.options_by_id["aa"].website.value in texts(details)


async def test_find_meeting_for_a_named_group_gives_its_own_finder_or_website(engine):
    fixed_parse(engine, [("find_meeting", 0.95)], entities=[{"entity": "option", "value": "na"}])
    na = KNOWLEDGE.options_by_id["na"]
    replies = await say(engine, "na meetings near me")
    expected = (na.meeting_finder or na.website).value
    assert expected in texts(replies)


async def test_find_meeting_lists_every_groups_own_finder(engine):
    fixed_parse(engine, [("find_meeting", 0.95)])
    said = texts(await say(engine, "where are meetings"))
    for option in KNOWLEDGE.options:
        if option.mutual_aid and "self" in option.for_whom and not option.gambling_only:
            assert (option.meeting_finder or option.website).value in said


async def test_cost_of_a_named_group_comes_from_its_own_file(engine):
    fixed_parse(engine, [("cost", 0.95)], entities=[{"entity": "option", "value": "aa"}])
    assert KNOWLEDGE.options_by_id["aa"].cost in texts(await say(engine, "is aa free"))


async def test_under_18_names_childline_from_the_support_lines(engine):
    fixed_parse(engine, [("under_18", 0.95)])
    replies = await say(engine, "is there any group for someone my age")
    assert LINES["childline"] in texts(replies)
    assert '/option_details{"option": "alateen"}' in payloads(replies)


async def test_proof_of_attendance_never_promises_anything(engine):
    fixed_parse(engine, [("proof_of_attendance", 0.95)])
    said = texts(await say(engine, "can i get a letter to say i went")).lower()
    assert "decides for itself" in said
    assert "i can't sign" in said


# ----- entities that shape the answer -----------------------------------------------------


async def test_own_cocaine_use_lists_the_groups_for_it_first(engine):
    fixed_parse(
        engine,
        [("own_use", 0.95)],
        entities=[
            {"entity": "substance", "value": "cocaine"},
            {"entity": "who", "value": "self"},
        ],
    )
    replies = await say(engine, "worried about my own coke use")
    buttons = [p for p in payloads(replies) if p.startswith("/option_details")]
    assert buttons[0] == '/option_details{"option": "ca"}'
    # A short list for a phone, with every group one tap away.
    assert len(buttons) <= 5
    assert '/list_options{"list_scope": "all"}' in payloads(replies)
    everything = await say(engine, '/list_options{"list_scope": "all"}')
    assert len([p for p in payloads(everything) if p.startswith("/option_details")]) >= 8


async def test_someone_elses_use_takes_the_families_path(engine):
    fixed_parse(
        engine,
        [("list_options", 0.9)],
        entities=[
            {"entity": "substance", "value": "opioids"},
            {"entity": "who", "value": "son"},
        ],
    )
    replies = await say(engine, "my son is on the gear what is there")
    assert '/option_details{"option": "al_anon"}' in payloads(replies) or (
        '/option_details{"option": "nar_anon"}' in payloads(replies)
    )
    assert '/option_details{"option": "aa"}' not in payloads(replies)


async def test_a_substance_named_earlier_still_orders_the_list(engine):
    fixed_parse(
        engine, [("own_use", 0.95)], entities=[{"entity": "substance", "value": "cannabis"}]
    )
    await say(engine, "i smoke too much weed")
    fixed_parse(engine, [("list_options", 0.95)])
    replies = await say(engine, "what groups are there")
    buttons = [p for p in payloads(replies) if p.startswith("/option_details")]
    assert buttons[0] == '/option_details{"option": "ma"}'


# ----- did you mean, and answers without a question ---------------------------------------


async def test_unsure_gets_did_you_mean_buttons_then_rephrase_then_menu(engine):
    await say(engine, "/start")
    fixed_parse(
        engine,
        [("nlu_fallback", 0.4), ("cost", 0.35), ("first_meeting", 0.3), ("affirm", 0.2)],
    )
    replies = await say(engine, "hmm the money thing for the first time")
    offered = payloads(replies)
    assert offered[:2] == ["/cost", "/first_meeting"]
    assert offered[-1] == "/something_else"
    assert "/affirm" not in offered  # an answer is never offered as a reading
    chosen = await say(engine, "/cost")
    assert last_turn(engine)[0] == "cost"
    assert "free" in texts(chosen)
    await say(engine, "hmm the money thing for the first time")
    other = await say(engine, "/something_else")
    assert "another way" in texts(other)
    await say(engine, "still unclear")
    menu = await say(engine, "still unclear again")
    assert "/list_options" in payloads(menu)


async def test_did_you_mean_carries_the_group_named(engine):
    fixed_parse(
        engine,
        [("nlu_fallback", 0.4), ("group_contact", 0.38), ("option_details", 0.3)],
        entities=[{"entity": "option", "value": "ca"}],
    )
    replies = await say(engine, "ca contact or about?")
    assert '/group_contact{"option": "ca"}' in payloads(replies)
    assert '/option_details{"option": "ca"}' in payloads(replies)


async def test_nothing_likely_means_a_plain_rephrase(engine):
    fixed_parse(engine, [("nlu_fallback", 0.4), ("cost", 0.05)])
    replies = await say(engine, "zzqx")
    assert "/cost" not in payloads(replies)
    assert "another way" in texts(replies)


@pytest.mark.parametrize("intent", ["affirm", "deny", "im_fine", "inform"])
async def test_an_answer_where_nothing_was_asked_goes_to_the_clarify_step(engine, intent):
    await say(engine, "/start")
    fixed_parse(engine, [(intent, 0.99)])
    replies = await say(engine, "yes")
    assert "not sure what that answers" in texts(replies)
    assert "/list_options" in payloads(replies)
    assert "good to hear" not in texts(replies).lower()


async def test_a_groups_name_on_its_own_asks_about_that_group(engine):
    fixed_parse(engine, [("inform", 0.93)], entities=[{"entity": "option", "value": "ca"}])
    replies = await say(engine, "CA?")
    assert KNOWLEDGE.options_by_id["ca"].name in texts(replies)
    assert "action_option_details" in last_turn(engine)[1]


async def test_a_typed_group_name_fills_the_form_slot_it_asks_for(engine):
    await say(engine, "/start")
    await say(engine, "/plan_meeting")
    fixed_parse(
        engine,
        [("option_details", 0.9)],
        entities=[{"entity": "option", "value": "smart_recovery"}],
    )
    replies = await say(engine, "smart recovery i think")
    state = engine.store.load(engine.conversation_id("test", "tester"))
    assert state is not None
    assert state.slots.get("plan_option") == "smart_recovery"
    assert "online or in person" in texts(replies)


# ----- messages that ask several things ---------------------------------------------------


async def test_a_long_message_answers_the_most_important_part_and_offers_the_rest(engine):
    await say(engine, "/start")
    replies = await say(
        engine,
        "hiya. i get really bad shakes every morning till i have a drink. also is it free?",
    )
    intent, actions = last_turn(engine)
    assert intent == "withdrawal"
    assert "utter_withdrawal" in actions
    assert "You also asked about" in texts(replies)
    assert "/cost" in payloads(replies)
    follow = await say(engine, "/cost")
    assert "free" in texts(follow)
