"""Start links, typed short codes and staff commands, through the whole engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.links import LinkService
from bot.pseudonym import load_or_create_secret
from tests.helpers import say, staff_of, texts


def state(engine, chat="tester"):
    return engine.store.load(engine.conversation_id("test", chat))


async def test_a_valid_link_ties_the_chat_to_its_site(engine):
    payload = engine.links.make_payload("riverside", timedelta(days=30))
    body = texts(await say(engine, f"/start {payload}"))
    assert "from Riverside Surgery" in body
    assert state(engine).slots["site_id"] == "riverside"
    assert state(engine).slots["setting"] == "gp_practice"
    starts = list(engine.store.db.table("events").rows_where("kind = ?", ["start"]))
    assert [row["site_id"] for row in starts] == ["riverside"]


async def test_a_probation_link_gives_the_probation_welcome(engine):
    payload = engine.links.make_payload("northgate-probation", timedelta(days=30))
    body = texts(await say(engine, f"/start {payload}"))
    assert "Going to a group is up to you" in body


async def test_a_forged_link_gets_a_kind_message_and_no_site(engine):
    payload = engine.links.make_payload("riverside", timedelta(days=30))
    forged = payload[:-2] + ("AA" if not payload.endswith("AA") else "BB")
    replies = await say(engine, f"/start {forged}")
    assert "couldn't read the link" in replies[0].text
    assert "not a person" in texts(replies)
    assert state(engine).slots["site_id"] is None


async def test_an_expired_link_says_so_kindly(engine):
    key = load_or_create_secret(engine.settings.secret_path)
    last_month = datetime.now(UTC) - timedelta(days=30)
    old = LinkService(engine.store, key, engine.sites, now=lambda: last_month)
    payload = old.make_payload("riverside", timedelta(days=1))
    replies = await say(engine, f"/start {payload}")
    assert "expired" in replies[0].text
    assert state(engine).slots["site_id"] is None


async def test_a_single_use_link_works_once(engine):
    payload = engine.links.make_payload("riverside", timedelta(hours=24), single_use=True)
    await say(engine, f"/start {payload}", "first")
    assert state(engine, "first").slots["site_id"] == "riverside"
    replies = await say(engine, f"/start {payload}", "second")
    assert "used already" in replies[0].text
    assert state(engine, "second").slots["site_id"] is None


async def test_a_typed_short_code_works_like_the_link(engine):
    payload = engine.links.make_payload("riverside", timedelta(days=30))
    info = engine.links.verify(payload, consume=False)
    code = engine.links.short_code(payload, "riverside", info.expires_at)
    body = texts(await say(engine, code.lower().replace("-", " ")))
    assert "from Riverside Surgery" in body


async def test_staff_enrol_and_use_staff_commands(engine):
    code = staff_of(engine).invite("riverside")
    replies = await say(engine, f"/staff {code}", "nurse")
    assert "staff for Riverside Surgery" in texts(replies)
    link = await say(engine, "/link", "nurse")
    assert "https://t.me/" in link[0].text
    assert link[0].image.startswith(b"\x89PNG")
    client = await say(engine, "/clientlink", "nurse")
    assert "works once" in client[0].text
    stats = await say(engine, "/stats", "nurse")
    assert "Riverside Surgery" in stats[0].text


async def test_staff_commands_are_invisible_to_everyone_else(engine):
    for command in ("/link", "/clientlink", "/stats"):
        replies = await say(engine, command, "visitor")
        body = texts(replies)
        assert "https://t.me/" not in body
        assert "staff" not in body.lower()
        assert all(r.image is None for r in replies)


async def test_a_wrong_staff_code_looks_like_any_other_message(engine):
    wrong = await say(engine, "/staff ABCDE-FGHJK", "visitor")
    nonsense = await say(engine, "/blorf ABCDE-FGHJK", "other")
    assert "staff" not in texts(wrong).lower()
    assert [r.text for r in wrong] == [r.text for r in nonsense]


async def test_forget_also_ends_staff_enrolment(engine):
    code = staff_of(engine).invite("riverside")
    await say(engine, f"/staff {code}", "nurse")
    await say(engine, "/forget", "nurse")
    replies = await say(engine, "/link", "nurse")
    assert "https://t.me/" not in texts(replies)
