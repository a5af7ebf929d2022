"""The engine end to end: real NLU, rules, forms, rasa-sdk actions in process, and SQLite."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.engine import BotReply, Engine
from bot.engine.actions import InProcessActions
from bot.store import ConversationState
from tests.helpers import payloads, say, texts

ASK_OPTION = "Which group would you like to try first?"
ASK_FORMAT = "online or in person?"
ASK_WHEN = "When might you go?"
PICK_AA = '/inform{"option": "aa"}'
ONLINE = '/inform{"plan_format": "online"}'
IN_PERSON = '/inform{"plan_format": "in_person"}'
THIS_WEEK = '/inform{"plan_when": "this_week"}'
NEXT_WEEK = '/inform{"plan_when": "next_week"}'
DETAILS_AA = '/option_details{"option": "aa"}'
CRISIS = "i want to kill myself"
ERROR_TEXT = "something went wrong"


def state_of(engine: Engine, chat_id: str = "tester", channel: str = "test") -> ConversationState:
    state = engine.store.load(engine.conversation_id(channel, chat_id))
    assert state is not None, "nothing stored for this chat"
    return state


def url_buttons(replies: list[BotReply]) -> list[dict[str, str]]:
    return [b for r in replies for b in r.buttons if "url" in b]


async def start_form(engine: Engine, chat_id: str = "tester") -> list[BotReply]:
    await say(engine, "/start", chat_id)
    replies = await say(engine, "/plan_meeting", chat_id)
    assert ASK_OPTION in texts(replies)
    return replies


# ----- rules ------------------------------------------------------------------------------


async def test_start_welcomes_with_buttons(engine):
    replies = await say(engine, "/start")
    assert "not a person" in texts(replies)
    assert "999" in texts(replies)
    welcome = ["/list_options", "/family_support", "/privacy", "/get_help"]
    assert payloads(replies) == welcome
    state = state_of(engine)
    assert state.turns == 1
    assert state.offered == welcome


async def test_start_with_a_link_argument_and_bot_name(engine):
    replies = await say(engine, "/start@MutualAidBot riverside")
    assert "not a person" in texts(replies)


async def test_help_rule(engine):
    replies = await say(engine, "/help")
    assert "/forget" in texts(replies)
    assert "/plan_meeting" in payloads(replies)


async def test_list_options_offers_every_option_once(engine):
    replies = await say(engine, "/list_options")
    offered = payloads(replies)
    details = sorted(p for p in offered if p.startswith("/option_details"))
    eligible = [
        o for o in engine.knowledge.options if "self" in o.for_whom and not o.gambling_only
    ]
    expected = sorted(f'/option_details{{"option": "{o.id}"}}' for o in eligible)
    assert details == expected
    for option in eligible:
        assert option.name in texts(replies)


async def test_details_through_an_offered_button_sets_the_slot(engine):
    await say(engine, "/list_options")
    replies = await say(engine, DETAILS_AA)
    aa = engine.knowledge.options_by_id["aa"]
    assert aa.name in texts(replies)
    assert aa.website.value in texts(replies)
    assert state_of(engine).slots["option"] == "aa"


async def test_get_help_lists_the_support_lines(engine):
    replies = await say(engine, "/get_help")
    assert "116 123" in texts(replies)


async def test_natural_language_goes_through_nlu(engine):
    replies = await say(engine, "what groups are there")
    assert "/option_details" in " ".join(payloads(replies))


# ----- the plan form ----------------------------------------------------------------------


async def test_plan_form_start_to_finish(engine):
    replies = await start_form(engine)
    assert PICK_AA in payloads(replies)
    assert "/stop" in payloads(replies)
    state = state_of(engine)
    assert state.active_loop == "plan_form"
    assert state.requested_slot == "plan_option"

    replies = await say(engine, PICK_AA)
    assert ASK_FORMAT in texts(replies)
    assert ONLINE in payloads(replies)
    assert state_of(engine).slots["plan_option"] == "aa"

    replies = await say(engine, ONLINE)
    assert ASK_WHEN in texts(replies)
    assert THIS_WEEK in payloads(replies)

    replies = await say(engine, THIS_WEEK)
    text = texts(replies)
    assert "Your plan: try Alcoholics Anonymous, online, this week." in " ".join(text.split())
    assert ASK_WHEN not in text
    aa = engine.knowledge.options_by_id["aa"]
    finder = (aa.meeting_finder or aa.website).value
    assert url_buttons(replies) == [{"title": "Find a AA meeting", "url": finder}]
    assert "/list_options" in payloads(replies)

    state = state_of(engine)
    assert state.active_loop is None
    assert state.requested_slot is None
    assert {k: state.slots[k] for k in ("plan_option", "plan_format", "plan_when")} == {
        "plan_option": "aa",
        "plan_format": "online",
        "plan_when": "this_week",
    }
    actions = [entry["action"] for entry in state.history if "action" in entry]
    assert actions[-2:] == ["plan_form", "action_show_plan"]


async def test_stop_mid_form_deactivates_it(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    replies = await say(engine, "/stop")
    assert "stop there" in texts(replies)
    assert ASK_FORMAT not in texts(replies)
    state = state_of(engine)
    assert state.active_loop is None
    assert state.requested_slot is None

    # The old format button now sets nothing: the form is no longer asking.
    replies = await say(engine, ONLINE)
    assert ASK_WHEN not in texts(replies)
    state = state_of(engine)
    assert state.slots["plan_format"] is None
    assert state.active_loop is None


async def test_stop_without_a_form(engine):
    replies = await say(engine, "/stop")
    assert "stop there" in texts(replies)
    assert state_of(engine).active_loop is None


async def test_form_resumes_after_a_restart(make_engine):
    first = make_engine()
    await start_form(first)
    await say(first, PICK_AA)
    replies = await say(first, IN_PERSON)
    assert ASK_WHEN in texts(replies)
    first.store.close()

    second = make_engine()
    state = state_of(second)
    assert state.active_loop == "plan_form"
    assert state.requested_slot == "plan_when"
    replies = await say(second, NEXT_WEEK)
    assert "in person, next week" in " ".join(texts(replies).split())
    assert url_buttons(replies)
    state = state_of(second)
    assert state.active_loop is None
    assert state.slots["plan_when"] == "next_week"


async def test_form_keeps_asking_when_the_answer_is_not_understood(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    replies = await say(engine, "qwzx plonk vrrb")
    assert ASK_FORMAT in texts(replies)
    state = state_of(engine)
    assert state.active_loop == "plan_form"
    assert state.requested_slot == "plan_format"


# ----- payloads cannot be forged ----------------------------------------------------------


async def test_typed_payloads_that_were_never_offered_set_no_slot(engine):
    for typed in ('/inform{"plan_format": "online"}', '/option_details{"option":"aa"}'):
        replies = await say(engine, typed)
        assert replies
        assert ERROR_TEXT not in texts(replies)
    slots = state_of(engine).slots
    assert slots["plan_format"] is None
    assert slots["option"] is None


async def test_typed_payload_in_a_form_sets_no_slot(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    # Spelled differently from the offered button, and a value never offered at all.
    for typed in ('/inform{"plan_format":"online"}', '/inform{"plan_format": "not_a_format"}'):
        replies = await say(engine, typed)
        assert ASK_FORMAT in texts(replies)
        state = state_of(engine)
        assert state.slots["plan_format"] is None
        assert state.requested_slot == "plan_format"


async def test_payload_offered_to_one_chat_cannot_be_used_by_another(engine):
    replies = await say(engine, "/list_options", "chat-a")
    assert DETAILS_AA in payloads(replies)
    await say(engine, "/start", "chat-b")

    replies = await say(engine, DETAILS_AA, "chat-b")
    assert "A first meeting" not in texts(replies)
    assert state_of(engine, "chat-b").slots["option"] is None

    await say(engine, DETAILS_AA, "chat-a")
    assert state_of(engine, "chat-a").slots["option"] == "aa"


async def test_unknown_option_in_an_offered_payload_is_handled(engine):
    # An offered button naming an option the knowledge does not have: a kind answer.
    await say(engine, "/list_options")
    state = state_of(engine)
    state.offered.append('/option_details{"option": "made_up"}')
    engine.store.save(state)
    replies = await say(engine, '/option_details{"option": "made_up"}')
    assert "don't know that group" in texts(replies)
    assert DETAILS_AA in payloads(replies)


# ----- crisis -----------------------------------------------------------------------------


async def test_crisis_during_the_form_pauses_it_until_the_person_chooses_to_go_on(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    replies = await say(engine, CRISIS)
    text = texts(replies)
    assert "116 123" in text
    assert "999" in text
    assert ASK_FORMAT not in text
    assert ONLINE not in payloads(replies)
    state = state_of(engine)
    assert state.active_loop is None
    assert state.slots["paused_form"] == "plan_form"

    # A denial gets a kind reply that keeps help in reach; the form does not come back.
    replies = await say(engine, "please just ignore what i said")
    assert ASK_FORMAT not in texts(replies)
    assert "/get_help" in payloads(replies)
    assert "/resume_form" in payloads(replies)
    assert state_of(engine).active_loop is None

    replies = await say(engine, "/resume_form")
    assert ASK_FORMAT in texts(replies)
    assert state_of(engine).slots["paused_form"] is None
    replies = await say(engine, ONLINE)
    assert ASK_WHEN in texts(replies)
    assert state_of(engine).slots["plan_format"] == "online"


async def test_nothing_to_resume_is_said_kindly(engine):
    replies = await say(engine, "/resume_form")
    assert "nothing to go back to" in texts(replies)


async def test_crisis_on_the_very_first_message(engine):
    replies = await say(engine, CRISIS, "new-person")
    text = texts(replies)
    assert "999" in text
    assert "116 123" in text
    assert "/get_help" in payloads(replies)
    assert "not a person" not in text


async def test_crisis_text_inside_a_typed_payload_is_still_a_crisis(engine):
    replies = await say(engine, '/inform{"note": "i want to kill myself"}')
    assert "116 123" in texts(replies)


# ----- fallbacks and odd messages ---------------------------------------------------------


NONSENSE = [
    "qwzx plonk vrrb",
    "blorf snerk wibble",
    "purple monkey dishwasher",
    "zzkv qpxw",
    "flurb garnax tiddle",
    "vlimp skronk",
    "xqzv blorf wibble",
    "jkjkjk lplp",
]


def not_understood(engine, count: int) -> list[str]:
    """Messages the current model does not understand (which ones depends on the data)."""
    found = [t for t in NONSENSE if engine.nlu.parse(t)["intent"]["name"] == "nlu_fallback"]
    assert len(found) >= count, "add more nonsense candidates"
    return found[:count]


async def test_two_step_fallback(engine):
    await say(engine, "/start")
    one, two = not_understood(engine, 2)
    first = await say(engine, one)
    assert "say it another way" in texts(first)
    assert payloads(first) == ["/help"]
    second = await say(engine, two)
    assert "pick one of these" in texts(second)
    assert "/list_options" in payloads(second)
    assert "/get_help" in payloads(second)
    # Understood again: back to normal.
    third = await say(engine, "/help")
    assert "/forget" in texts(third)


async def test_empty_and_whitespace_messages_get_a_kind_answer(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    before = state_of(engine)
    for text in ("", "   ", "\n\t ", "\x00\x01"):
        replies = await say(engine, text)
        assert len(replies) == 1
        assert "didn't get any words" in replies[0].text
    after = state_of(engine)
    assert after.model_dump(exclude={"updated_at"}) == before.model_dump(exclude={"updated_at"})


async def test_a_50000_character_message(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    huge = ("hello there how are you " * 2100)[:50_000]
    assert len(huge) == 50_000
    replies = await say(engine, huge)
    assert replies
    assert all(r.text for r in replies)
    assert ERROR_TEXT not in texts(replies)
    state = state_of(engine)
    assert state.active_loop == "plan_form"
    assert state.slots["plan_option"] == "aa"
    assert state.requested_slot == "plan_format"
    replies = await say(engine, ONLINE)
    assert ASK_WHEN in texts(replies)


async def test_a_message_that_is_not_a_string(engine):
    replies = await engine.handle("test", "tester", None)  # type: ignore[arg-type]
    assert "didn't get any words" in texts(replies)


# ----- forget and restart -----------------------------------------------------------------


async def test_forget_erases_the_conversation(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    assert engine.store.count() == 1
    replies = await say(engine, "/forget")
    assert "deleted" in texts(replies)
    assert engine.store.load(engine.conversation_id("test", "tester")) is None
    assert engine.store.count() == 0

    # The next message starts a new conversation, with nothing from before.
    await say(engine, "/help")
    state = state_of(engine)
    assert state.active_loop is None
    assert state.slots["plan_option"] is None
    assert state.turns == 1


async def test_forget_with_a_bot_name_and_only_for_that_chat(engine):
    await say(engine, "/start", "keep-me")
    await say(engine, "/start", "forget-me")
    replies = await say(engine, "/forget@MutualAidBot", "forget-me")
    assert "deleted" in texts(replies)
    assert engine.store.load(engine.conversation_id("test", "forget-me")) is None
    assert engine.store.load(engine.conversation_id("test", "keep-me")) is not None
    assert engine.forget("test", "keep-me") is True
    assert engine.forget("test", "keep-me") is False


async def test_restart_resets_slots_and_form(engine):
    await start_form(engine)
    await say(engine, PICK_AA)
    await say(engine, ONLINE)
    replies = await say(engine, "/restart")
    assert "start again" in texts(replies)
    state = state_of(engine)
    assert state.active_loop is None
    assert state.slots == engine.domain.initial_slots()
    # Buttons from before the restart are no longer accepted.
    assert state.offered == payloads(replies)
    await say(engine, THIS_WEEK)
    assert state_of(engine).slots["plan_when"] is None


# ----- many people at once ----------------------------------------------------------------


async def test_many_senders_interleaved_keep_separate_state(engine):
    people = {
        f"person-{i}": (option, fmt, when)
        for i, (option, fmt, when) in enumerate(
            [
                ("aa", "online", "this_week"),
                ("na", "in_person", "next_week"),
                ("smart_recovery", "not_sure", "not_sure"),
                ("aa", "in_person", "not_sure"),
                ("na", "online", "this_week"),
                ("smart_recovery", "online", "next_week"),
            ]
        )
    }

    def step(chat: str, n: int) -> str:
        option, fmt, when = people[chat]
        return [
            "/plan_meeting",
            f'/inform{{"option": "{option}"}}',
            f'/inform{{"plan_format": "{fmt}"}}',
            f'/inform{{"plan_when": "{when}"}}',
        ][n]

    for n in range(4):
        # Everyone's n-th message at once, so turns of different chats interleave.
        results = await asyncio.gather(*(say(engine, step(chat, n), chat) for chat in people))
        for replies in results:
            assert replies
            assert ERROR_TEXT not in texts(replies)
        if n == 1:
            # Half-way through, each person is at their own place in their own form.
            for chat, (option, _, _) in people.items():
                state = state_of(engine, chat)
                assert state.slots["plan_option"] == option
                assert state.requested_slot == "plan_format"

    for chat, (option, fmt, when) in people.items():
        state = state_of(engine, chat)
        assert state.active_loop is None
        assert (state.slots["plan_option"], state.slots["plan_format"]) == (option, fmt)
        assert state.slots["plan_when"] == when
    assert engine.store.count() == len(people)
    ids = {engine.conversation_id("test", chat) for chat in people}
    assert len(ids) == len(people)


async def test_same_chat_id_on_different_channels_is_a_different_conversation(engine):
    await say(engine, "/list_options", "42", channel="telegram")
    await say(engine, DETAILS_AA, "42", channel="jsonl")
    assert state_of(engine, "42", "jsonl").slots["option"] is None
    assert engine.conversation_id("telegram", "42") != engine.conversation_id("jsonl", "42")


# ----- failing actions --------------------------------------------------------------------


def boom(dispatcher: Any, tracker: Any, domain: Any) -> None:
    raise RuntimeError("the knowledge base is on fire")


async def test_an_action_that_raises_gives_the_error_reply(make_engine):
    client = InProcessActions()
    client.executor.register_function("action_list_options", boom)
    engine = make_engine(action_client=client)
    replies = await say(engine, "/list_options")
    assert ERROR_TEXT in texts(replies)
    assert "116 123" in texts(replies)
    # The conversation goes on, and other actions still work.
    replies = await say(engine, "/get_help")
    assert "116 123" in texts(replies)
    assert ERROR_TEXT not in texts(replies)
    assert state_of(engine).turns == 2


class BrokenClient:
    """An action client that fails in ways the engine does not expect."""

    def __init__(self, failure: str) -> None:
        self.inner = InProcessActions()
        self.failure = failure

    def names(self) -> set[str]:
        return self.inner.names()

    async def run(self, action_call: dict[str, Any]) -> dict[str, Any]:
        if action_call["next_action"] != "validate_plan_form":
            return await self.inner.run(action_call)
        if self.failure == "raise":
            raise ConnectionResetError("the action server went away")
        return {"events": [], "responses": ["not a message"]}


async def test_an_unexpected_client_failure_gives_the_error_reply(make_engine):
    for failure in ("raise", "malformed"):
        engine = make_engine(action_client=BrokenClient(failure))
        chat = f"broken-{failure}"
        await start_form(engine, chat)
        replies = await say(engine, PICK_AA, chat)
        assert ERROR_TEXT in texts(replies), failure
        state = state_of(engine, chat)
        # The form is still there to try again.
        assert state.active_loop == "plan_form"


async def test_the_engine_keeps_no_lock_for_an_idle_chat(engine):
    await say(engine, "hello", "idle-1")
    await say(engine, "hello", "idle-2")
    assert len(engine._locks) == 0


async def test_a_database_that_cannot_be_written_still_gets_an_answer(engine, caplog):
    await engine.handle("test", "full", "hello")
    # As with a full disk or a read-only file: every write fails.
    engine.store._conn.execute("PRAGMA query_only = ON")
    caplog.set_level(logging.ERROR)
    try:
        replies = await engine.handle("test", "full", "what groups are there")
        assert "try again" in replies[0].text
        assert "999" in replies[0].text
        crisis = await engine.handle("test", "full", "i have taken all my pills tonight")
        assert "999" in crisis[0].text.split("\n")[0]
    finally:
        engine.store._conn.execute("PRAGMA query_only = OFF")
    assert engine.storage_failures == 2
    assert str(engine.settings.db_path) in caplog.text
    assert "readonly" in caplog.text
    assert "pills" not in caplog.text
