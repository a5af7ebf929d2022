"""Button payloads: accepted only when offered; /start and its link argument."""

from __future__ import annotations

import pytest

from bot.engine.payloads import ParsedPayload, parse_payload, parse_start, payload_shaped

INTENTS = {"inform", "option_details", "help", "stop", "start"}
FORMAT_ONLINE = '/inform{"plan_format": "online"}'
DETAILS_AA = '/option_details{"option": "aa"}'


def test_offered_payload_with_entities_is_accepted():
    parsed = parse_payload(FORMAT_ONLINE, [DETAILS_AA, FORMAT_ONLINE], INTENTS)
    assert parsed == ParsedPayload(
        "inform", [{"entity": "plan_format", "value": "online", "extractor": "payload"}]
    )


def test_offered_payload_with_a_list_gives_one_entity_per_value():
    payload = '/inform{"option": ["aa", "na"]}'
    parsed = parse_payload(payload, [payload], INTENTS)
    assert parsed is not None
    assert [e["value"] for e in parsed.entities] == ["aa", "na"]
    assert {e["entity"] for e in parsed.entities} == {"option"}


def test_surrounding_whitespace_does_not_matter():
    parsed = parse_payload(f"  {DETAILS_AA}\n", [DETAILS_AA], INTENTS)
    assert parsed is not None
    assert parsed.intent == "option_details"


@pytest.mark.parametrize(
    "typed",
    [
        FORMAT_ONLINE,
        '/inform{"plan_format":"online"}',  # same meaning, different spelling
        '/inform{"plan_format": "in_person"}',
        '/inform{"plan_format": "online", "plan_when": "this_week"}',
    ],
)
def test_payload_that_was_not_offered_is_not_accepted(typed):
    assert parse_payload(typed, [DETAILS_AA], INTENTS) is None


def test_nothing_offered_means_no_payload_with_entities():
    assert parse_payload(DETAILS_AA, [], INTENTS) is None


def test_offered_payload_for_an_unknown_intent_is_not_accepted():
    payload = '/make_admin{"role": "admin"}'
    assert parse_payload(payload, [payload], INTENTS) is None


def test_plain_intent_is_accepted_when_known():
    assert parse_payload("/help", [], INTENTS) == ParsedPayload("help")
    assert parse_payload("/stop", [], INTENTS) == ParsedPayload("stop", [])


@pytest.mark.parametrize("typed", ["/unknown_thing", "/Help", "help", "/help me", "/", ""])
def test_plain_text_or_unknown_intent_is_not_a_payload(typed):
    assert parse_payload(typed, ["/help"], INTENTS) is None


@pytest.mark.parametrize(
    "payload",
    [
        '/inform{"plan_format": }',
        '/inform{"plan_format": "online"',
        "/inform{plan_format: online}",
        '/inform{"plan_format": "online"}}',
    ],
)
def test_malformed_json_is_not_accepted_even_if_offered(payload):
    assert parse_payload(payload, [payload], INTENTS) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", (True, None)),
        ("/start abc123", (True, "abc123")),
        ("/start  abc123  ", (True, "abc123")),
        ("/start@MutualAidBot", (True, None)),
        ("/start@MutualAidBot site_riverside.sig", (True, "site_riverside.sig")),
        ("  /start\n", (True, None)),
    ],
)
def test_start_commands(text, expected):
    assert parse_start(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "start",
        "/started",
        "/start two words",
        "/start " + "x" * 129,
        "please /start",
        "/start@",
        "/restart",
    ],
)
def test_not_start_commands(text):
    assert parse_start(text) == (False, None)


def test_start_argument_up_to_128_characters():
    arg = "y" * 128
    assert parse_start(f"/start {arg}") == (True, arg)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (FORMAT_ONLINE, "inform"),
        ('/anything{"x": 1}', "anything"),
        ("/inform{not json}", "inform"),
        ("/help", None),
        ("tell me about aa", None),
        ('please /inform{"x": 1}', None),
    ],
)
def test_payload_shaped_names_the_intent_of_any_payload_with_entities(text, intent):
    assert payload_shaped(text) == intent
