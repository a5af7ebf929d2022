"""The welcome and other replies that know the setting (none, GP practice, probation)."""

from __future__ import annotations

import pytest

from tests.helpers import say, texts


def set_setting(engine, setting: str, site_name: str | None = None) -> None:
    """Put a conversation in a setting, as a site's start link will (issue: sites)."""
    conversation = engine.conversation_id("test", "tester")
    state = engine.store.load(conversation)
    state.slots["setting"] = setting
    state.slots["site_name"] = site_name
    engine.store.save(state)


async def test_welcome_with_no_site_says_what_the_bot_is_and_is_not(engine):
    body = texts(await say(engine, "/start"))
    assert "not a person" in body
    assert "nobody reads this chat" in body
    assert "999" in body
    assert "/forget" in body
    assert "your choice" in body


@pytest.mark.parametrize(
    ("setting", "site", "expected", "absent"),
    [
        ("gp_practice", "Riverside Surgery", "from Riverside Surgery", "probation officer"),
        ("probation", "Northgate Probation Office", "Going to a group is up to you", "GP"),
    ],
)
async def test_welcome_knows_the_setting(engine, setting, site, expected, absent):
    await say(engine, "hello")
    set_setting(engine, setting, site)
    body = texts(await say(engine, "/start"))
    assert expected in body
    assert absent not in body
    assert "999" in body


async def test_probation_welcome_says_nothing_is_told(engine):
    await say(engine, "hello")
    set_setting(engine, "probation")
    body = texts(await say(engine, "/start"))
    assert "don't tell your probation officer" in body


async def test_treatment_advice_fits_the_setting(engine):
    await say(engine, "hello")
    set_setting(engine, "probation")
    body = texts(await say(engine, "/treatment"))
    assert "probation officer can help" in body
    assert "alongside treatment, not instead of it" in body


async def test_withdrawal_advice_is_safety_first(engine):
    body = texts(
        await say(engine, "i drink a bottle of vodka every day and want to stop tomorrow")
    )
    assert "stopping suddenly" in body
    assert "111" in body
    assert "GP" in body
