"""Option cards say only what is known: unknown is never shown as "no" (issue 10)."""

from __future__ import annotations

from actions.cards import meeting_kinds, meeting_ways, website_line, with_website_first
from actions.knowledge_access import knowledge
from tests.helpers import read_every_message_as, say, texts

WORDS = knowledge().card_words


def test_a_card_never_says_no_for_something_unknown():
    for option in knowledge().options:
        ways = meeting_ways(option)
        if option.online is None:
            assert WORDS.online_no not in ways, option.id
            assert WORDS.online_yes not in ways, option.id
        if option.in_person_uk is None:
            assert WORDS.in_person_no not in ways, option.id
            assert WORDS.in_person_yes not in ways, option.id


def test_a_checked_no_is_said():
    wfs = knowledge().options_by_id["women_for_sobriety"]
    assert wfs.in_person_uk is not None
    assert wfs.in_person_uk.value is False
    assert WORDS.in_person_no in meeting_ways(wfs)


def test_unknown_says_where_to_look_instead():
    for option in knowledge().options:
        if option.online is None or option.in_person_uk is None:
            ways = meeting_ways(option)
            if option.meeting_finder:
                assert option.meeting_finder.value in ways, option.id
            elif option.website:
                assert WORDS.unknown_see_website in ways, option.id
            else:
                assert WORDS.unknown_no_website in ways, option.id


def test_no_website_is_said_plainly_and_goes_last():
    options = knowledge().options
    without = [o for o in options if o.website is None]
    assert without, "the knowledge has options with no checked website"
    for option in without:
        assert website_line(option) == WORDS.no_website
    ordered = with_website_first(options)
    assert ordered[-len(without) :] == without


async def test_a_card_with_nothing_unknown_shown_as_no(engine):
    read_every_message_as(engine, "option_details", {"option": "gam_anon"})
    body = texts(await say(engine, "tell me about gam anon"))
    assert "Online meetings: no" not in body
    assert WORDS.no_website in body
    assert "08700 50 88 80" in body


def test_meeting_kinds_are_only_the_checked_ones():
    options = knowledge().options_by_id
    assert meeting_kinds(options["smart_recovery"]) == "online and in person"
    assert meeting_kinds(options["women_for_sobriety"]) == "online"
    assert meeting_kinds(options["gam_anon"]) == ""


async def test_a_named_meeting_finder_says_how_to_use_it(engine):
    read_every_message_as(engine, "find_meeting", {"option": "smart_recovery"})
    body = texts(await say(engine, "where are smart meetings"))
    finder = knowledge().options_by_id["smart_recovery"].meeting_finder
    assert finder.value in body
    assert finder.how in body
