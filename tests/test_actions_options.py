"""The options, with equal weight: listings, cards, comparisons, families and gambling."""

from __future__ import annotations

from collections import Counter

import pytest
from scipy.stats import chisquare

from actions.cards import meeting_ways, website_line
from actions.knowledge_access import options_for, shuffled
from actions.options import SEE_ALL
from tests.helpers import payloads, read_every_message_as, say, texts


def eligible(engine, audience):
    return [o for o in engine.knowledge.options if audience in o.for_whom and not o.gambling_only]


def covering(engine, audience, substance):
    """Derived from the option files alone: who each is for and what it takes in."""
    names = {
        "alcohol": {"alcohol"},
        "cocaine": {"cocaine", "crack", "other drugs", "any drug"},
        "cannabis": {"cannabis", "any drug"},
        "opioids": {"any drug"},
        "gambling": {"gambling", "gambling and other habits"},
    }[substance]
    return [
        o
        for o in engine.knowledge.options
        if audience in o.for_whom and names & {s.lower() for s in o.substances}
    ]


async def test_listing_for_the_person_names_every_eligible_option_once(engine):
    replies = await say(engine, "/list_options")
    body = texts(replies)
    for option in eligible(engine, "self"):
        assert (
            body.count(f"{option.name} ({option.short_name})") + body.count(f"{option.name}:") == 1
        ), option.id
    for option in engine.knowledge.options:
        if option.gambling_only or "self" not in option.for_whom:
            assert option.name not in body, option.id


async def test_every_line_of_a_listing_has_the_same_shape(engine):
    replies = await say(engine, "/list_options")
    listing = next(r.text for r in replies if r.text.startswith("- "))
    lines = listing.splitlines()
    groups = [o for o in eligible(engine, "self") if o.mutual_aid]
    assert len(lines) == len(groups)
    for option in groups:
        # Every group gets exactly one line: "- Name (short name): summary".
        [line] = [line for line in lines if option.summary in line]
        assert line.startswith(f"- {option.name}")
        assert line.endswith(f": {option.summary}")
        if option.short_name != option.name:
            assert f"({option.short_name})" in line


async def test_services_that_are_not_groups_are_marked_as_such(engine):
    replies = await say(engine, "/list_options")
    body = texts(replies)
    for option in eligible(engine, "self"):
        if not option.mutual_aid:
            assert "not groups" in body
            assert f"- {option.name}: {option.summary}" in body


async def test_families_get_their_own_options(engine):
    replies = await say(engine, "my husband drinks too much, is there anything for me")
    body = texts(replies)
    assert "Support is there for you too" in body
    # The short list: every family option that covers drinking, one line each.
    for option in covering(engine, "family", "alcohol"):
        assert f"- {option.short_name}: {option.tagline}" in body, option.id
    for option in engine.knowledge.options:
        if "family" not in option.for_whom:
            assert f"- {option.short_name}:" not in body, option.id
    assert SEE_ALL["payload"] in payloads(replies)
    state = engine.store.load(engine.conversation_id("test", "tester"))
    assert state.slots["audience"] == "family"


async def test_order_is_shuffled_per_chat_and_stable_within_it(engine):
    first = payloads(await say(engine, "/list_options", "chat-one"))
    await say(engine, "/cost", "chat-one")  # the same reply twice running is never sent
    again = payloads(await say(engine, "/list_options", "chat-one"))
    other = payloads(await say(engine, "/list_options", "chat-two"))
    assert first == again
    assert sorted(first) == sorted(other)
    assert first != other


def test_shuffling_is_fair():
    """Each option is first equally often across many chats (chi-square, no timing)."""
    options = options_for("self")
    firsts = Counter(shuffled(options, f"conversation-{i}")[0].id for i in range(4000))
    positions = Counter()
    for i in range(4000):
        order = shuffled(options, f"conversation-{i}")
        positions[order.index(options[0])] += 1
    assert set(firsts) == {o.id for o in options}
    assert chisquare([firsts[o.id] for o in options]).pvalue > 0.001
    assert chisquare([positions[p] for p in range(len(options))]).pvalue > 0.001


async def test_option_card_has_every_field(engine):
    await say(engine, "/list_options")
    for option in eligible(engine, "self"):
        payload = f'/option_details{{"option": "{option.id}"}}'
        body = texts(await say(engine, payload))
        assert option.summary in body
        assert option.first_meeting in body
        assert website_line(option) in body
        assert meeting_ways(option) in body
        assert "Cost:" in body
        if option.helpline:
            assert option.helpline.number.value in body


async def test_compare_gives_every_kind_of_group_and_its_groups(engine):
    body = texts(await say(engine, "/compare_approaches"))
    kinds = {o.approach for o in eligible(engine, "self") if o.mutual_aid}
    for kind in kinds:
        assert engine.knowledge.approaches[kind].label in body
    for option in eligible(engine, "self"):
        if option.mutual_aid:
            assert option.short_name in body


async def test_is_it_religious_names_the_non_religious_options(engine):
    body = texts(await say(engine, "/religion"))
    assert "higher power" in body
    assert "Non-religious groups" in body
    assert "Christian" in body


async def test_gambling_options_only_when_gambling_comes_up(engine):
    gambling = [o for o in engine.knowledge.options if o.gambling_only]
    listing = texts(await say(engine, "/list_options"))
    for option in gambling:
        assert option.name not in listing
    replies = await say(engine, "/gambling")
    body = texts(replies)
    # Parity: every option for the person that covers gambling, not only the gambling-only
    # ones (SMART Recovery takes in gambling), and the National Gambling Helpline.
    for option in covering(engine, "self", "gambling"):
        assert f"- {option.short_name}: {option.tagline}" in body, option.id
    assert "0808 8020 133" in body
    assert payloads(replies), "the gambling reply must not be a dead end"


async def test_evidence_is_given_with_its_grades(engine):
    body = texts(await say(engine, "/evidence"))
    for finding in engine.knowledge.evidence.findings:
        assert finding.statement in body
    assert "Strong evidence" in body
    assert "Emerging evidence" in body


# ----- issue 10: parity per substance and audience, short lists -------------------------

SUBSTANCES = ["alcohol", "cocaine", "cannabis", "opioids", "gambling"]


@pytest.mark.parametrize("audience", ["self", "family"])
@pytest.mark.parametrize("substance", SUBSTANCES)
async def test_a_list_about_a_substance_names_every_option_that_covers_it(
    engine, substance, audience
):
    who = "self" if audience == "self" else "partner"
    intent = "gambling" if substance == "gambling" else "list_options"
    read_every_message_as(engine, intent, {"substance": substance, "who": who})
    replies = await say(engine, "tell me what there is")
    body = texts(replies)
    expected = covering(engine, audience, substance)
    assert expected, f"no option covers {substance} for {audience}"
    for option in expected:
        assert f"- {option.short_name}: {option.tagline}" in body, option.id
    if substance == "gambling":
        assert "0808 8020 133" in body  # the National Gambling Helpline, wherever gambling is
    # Short for a phone: at most 120 words of list and 6 buttons, "See all groups" one.
    words = sum(len(r.text.split()) for r in replies if "- " in r.text or r.buttons)
    assert words <= 120, body
    buttons = payloads(replies)
    assert len(buttons) <= 6
    assert SEE_ALL["payload"] in buttons


async def test_see_all_groups_gives_the_full_list_in_a_fair_order(engine):
    read_every_message_as(engine, "list_options", {"substance": "cannabis"})
    await say(engine, "weed", "chat-a")
    full = payloads(await say(engine, SEE_ALL["payload"], "chat-a"))
    options = [p for p in full if p.startswith("/option_details")]
    assert len(options) == len(eligible(engine, "self"))
