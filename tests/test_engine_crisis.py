"""Every crisis category through the whole engine, in every state of a conversation.

States: the first message, mid-list, mid-form, after a denial, and at the end of a
5,000-character message. Each reply must name the right number first (999 for immediate
danger, Samaritans for thoughts without it), keep help one tap away, and be counted by
category with no text and no conversation id.
"""

from __future__ import annotations

import json
import re

import pytest

from bot.engine import BotReply, Engine
from tests.helpers import payloads, say, staff_of, texts

PICK_AA = '/inform{"option": "aa"}'
ASK_FORMAT = "online or in person?"
CHECK_IN = ["/im_fine", "/get_help", "/not_sure"]

MESSAGES = {
    "overdose_self": "i think ive taken too many of my tablets and i feel really weird",
    "overdose_other": "my mate took too much gear and he wont wake up",
    "medical_emergency": "my dad is having a seizure on the kitchen floor",
    "suicide_plan": "ive got the pills saved up and im doing it tonight",
    "child_at_risk": "my toddler has swallowed some of my methadone",
    "domestic_abuse": "my partner keeps hitting me and im scared to go home",
    "violence": "my dealer says hes going to stab me tonight",
    "self_harm": "ive been cutting myself again",
    "suicidal_thoughts": "i just want to die",
}
NUMBER = re.compile(r"\b(999|111|116 123|0808 2000 247|0800 1111|85258)\b")


def first_number(text: str) -> str:
    found = NUMBER.search(text)
    assert found, f"no number in: {text}"
    return found.group(1)


def expected_first(engine: Engine, category: str) -> str:
    line_id = engine.knowledge.crisis.category(category).first_line
    value = next(
        line.contact.value for line in engine.knowledge.support_lines if line.id == line_id
    )
    return first_number(value)


def crisis_events(engine: Engine) -> list[tuple]:
    with engine.store.lock:
        return engine.store.db.execute(
            "SELECT * FROM events WHERE kind = 'crisis' ORDER BY rowid"
        ).fetchall()


def assert_signposted(engine: Engine, replies: list[BotReply], category: str) -> None:
    text = replies[0].text
    assert first_number(text) == expected_first(engine, category), (category, text)
    assert all(p in payloads(replies) for p in CHECK_IN)
    assert "Good to hear" not in texts(replies)


@pytest.mark.parametrize("category", sorted(MESSAGES))
async def test_first_message(engine, category):
    replies = await say(engine, MESSAGES[category], f"first-{category}")
    assert_signposted(engine, replies, category)
    rows = crisis_events(engine)
    assert len(rows) == 1
    row = dict(zip(("kind", "site_id", "at", "fields"), rows[0][-4:], strict=True))
    assert json.loads(row["fields"]) == [category]
    stored = " ".join(str(value) for value in rows[0])
    assert MESSAGES[category] not in stored
    assert engine.conversation_id("test", f"first-{category}") not in stored


@pytest.mark.parametrize("category", sorted(MESSAGES))
async def test_mid_list(engine, category):
    await say(engine, "/start")
    await say(engine, "/list_options")
    assert_signposted(engine, await say(engine, MESSAGES[category]), category)


@pytest.mark.parametrize("category", sorted(MESSAGES))
async def test_mid_form_pauses_the_form(engine, category):
    await say(engine, "/start")
    await say(engine, "/plan_meeting")
    replies = await say(engine, PICK_AA)
    assert ASK_FORMAT in texts(replies)
    replies = await say(engine, MESSAGES[category])
    assert_signposted(engine, replies, category)
    assert ASK_FORMAT not in texts(replies)
    replies = await say(engine, "/im_fine")
    assert ASK_FORMAT not in texts(replies)
    assert "/resume_form" in payloads(replies)


@pytest.mark.parametrize("category", sorted(MESSAGES))
async def test_after_a_denial(engine, category):
    await say(engine, "i just want to die")
    replies = await say(engine, "sorry ignore me, it was nothing")
    assert "/get_help" in payloads(replies)
    assert "Good to hear" not in texts(replies)
    assert_signposted(engine, await say(engine, MESSAGES[category]), category)


@pytest.mark.parametrize("category", sorted(MESSAGES))
async def test_at_the_end_of_a_long_message(engine, category):
    filler = "I went to the shops with my sister and we talked about the weekend. " * 80
    message = filler + MESSAGES[category]
    assert len(message) >= 5000
    assert_signposted(engine, await say(engine, message), category)


async def test_not_sure_gets_no_pressure_and_help_in_reach(engine):
    await say(engine, MESSAGES["suicidal_thoughts"])
    replies = await say(engine, "/not_sure")
    assert "116 123" in texts(replies)
    assert "/get_help" in payloads(replies)


async def test_first_person_overdose_is_spoken_to_the_person(engine):
    replies = await say(engine, MESSAGES["overdose_self"])
    assert "what you took" in texts(replies)
    assert "Stay with them" not in texts(replies)
    replies = await say(engine, MESSAGES["overdose_other"], "bystander")
    assert "Stay with them" in texts(replies)


async def test_fine_without_a_crisis_is_not_cheerful(engine):
    replies = await say(engine, "im fine")
    assert not re.search(r"good to hear|great|glad|brilliant", texts(replies), re.IGNORECASE)


async def test_nlu_never_decides_a_crisis(engine):
    parsed = engine.understanding.parse("what groups are there")
    assert parsed["intent"]["name"] != "crisis"
    assert "crisis" not in engine.nlu.intents


async def test_crisis_counts_reach_the_site_stats_without_text(engine):
    from datetime import timedelta

    site = engine.sites[0]
    payload = engine.links.make_payload(site.id, timedelta(days=1))
    await say(engine, f"/start {payload}", "linked")
    await say(engine, MESSAGES["domestic_abuse"], "linked")
    stats = staff_of(engine).stats(site.id)
    assert stats.crisis.all_time == 1
    assert stats.crisis.last_7_days == 1
