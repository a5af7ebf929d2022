"""Rendering responses: placeholders, conditional and channel variations, stable choice."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import Domain, DomainFile
from bot.engine.responses import choose_variation, fill, render_response
from bot.settings import PROJECT_DIR


def domain(responses: dict[str, Any]) -> Domain:
    """A small domain with only responses (and the slots they mention)."""
    return Domain(
        DomainFile.model_validate(
            {
                "slots": {
                    "plan_format": {
                        "type": "categorical",
                        "values": ["online", "in_person", "not_sure"],
                        "mappings": [{"type": "from_entity", "entity": "plan_format"}],
                    }
                },
                "responses": responses,
            }
        )
    )


def test_fill_replaces_known_names_and_leaves_unknown_ones():
    text = fill(
        "Try {short_name} {when_words}. {unknown} stays.",
        {
            "short_name": "AA",
            "when_words": "this week",
        },
    )
    assert text == "Try AA this week. {unknown} stays."


def test_fill_leaves_placeholders_whose_value_is_none():
    assert fill("Your plan: {plan_option}", {"plan_option": None}) == "Your plan: {plan_option}"


def test_fill_joins_lists_and_formats_other_values():
    values = {"options": ["AA", "NA"], "count": 3, "flag": False}
    assert fill("{options} / {count} / {flag}", values) == "AA, NA / 3 / False"


def test_fill_does_not_touch_braces_that_are_not_names():
    template = '{"json": 1} {0} { spaced }'
    assert fill(template, {"json": "x", "spaced": "y"}) == template


def test_fill_does_not_fill_inside_a_filled_value():
    # A value that itself looks like a placeholder is not expanded again.
    assert fill("{a}", {"a": "{b}", "b": "secret"}) == "{b}"


FORMAT_RESPONSES = {
    "utter_format": [
        {
            "text": "Online works.",
            "condition": [{"type": "slot", "name": "plan_format", "value": "online"}],
        },
        {
            "text": "In person works.",
            "condition": [{"type": "slot", "name": "plan_format", "value": "in_person"}],
        },
        {"text": "Plain one."},
        {"text": "Plain two."},
    ]
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("online", "Online works."), ("in_person", "In person works.")],
)
def test_conditional_variation_is_picked_when_the_slot_matches(value, expected):
    d = domain(FORMAT_RESPONSES)
    for seed in range(20):
        message = render_response(d, "utter_format", {"plan_format": value}, "test", str(seed))
        assert message is not None
        assert message["text"] == expected


def test_without_a_matching_condition_only_plain_variations_are_used():
    d = domain(FORMAT_RESPONSES)
    seen = {
        render_response(d, "utter_format", {"plan_format": slot}, "test", str(seed))["text"]
        for seed in range(40)
        for slot in (None, "not_sure")
    }
    assert seen == {"Plain one.", "Plain two."}


def test_variation_choice_is_stable_for_a_seed():
    variations = domain(FORMAT_RESPONSES).responses["utter_format"]
    for seed in ("chat-1:0", "chat-1:1", "chat-2:0"):
        picks = {choose_variation(variations, {}, "test", seed).text for _ in range(10)}
        assert len(picks) == 1
    # Different seeds do reach both plain variations.
    assert {choose_variation(variations, {}, "test", str(s)).text for s in range(40)} == {
        "Plain one.",
        "Plain two.",
    }


def test_render_response_is_stable_and_names_the_response():
    d = domain(
        {
            "utter_a": [{"text": "a1"}, {"text": "a2"}],
            "utter_b": [{"text": "b1"}, {"text": "b2"}],
        }
    )
    first = render_response(d, "utter_a", {}, "test", "seed")
    again = render_response(d, "utter_a", {}, "test", "seed")
    assert first == again
    assert first["response"] == "utter_a"


def test_channel_variation_is_used_on_its_channel_only():
    d = domain(
        {
            "utter_hello": [
                {"text": "Hello from Telegram.", "channel": "telegram"},
                {"text": "Hello."},
            ]
        }
    )
    for seed in range(20):
        assert render_response(d, "utter_hello", {}, "telegram", str(seed))["text"] == (
            "Hello from Telegram."
        )
        assert render_response(d, "utter_hello", {}, "terminal", str(seed))["text"] == "Hello."


def test_conditional_variation_for_another_channel_is_not_used():
    d = domain(
        {
            "utter_format": [
                {
                    "text": "Telegram online.",
                    "channel": "telegram",
                    "condition": [{"type": "slot", "name": "plan_format", "value": "online"}],
                },
                {"text": "Plain."},
            ]
        }
    )
    slots = {"plan_format": "online"}
    assert render_response(d, "utter_format", slots, "telegram", "s")["text"] == (
        "Telegram online."
    )
    assert render_response(d, "utter_format", slots, "terminal", "s")["text"] == "Plain."


def test_render_fills_slots_extra_values_and_buttons():
    d = domain(
        {
            "utter_plan": [
                {
                    "text": "Try {short_name} {plan_format}.",
                    "buttons": [
                        {"title": "Find {short_name}", "url": "https://example.org/{short_name}"},
                        {"title": "More", "payload": '/inform{"plan_format": "online"}'},
                    ],
                }
            ]
        }
    )
    message = render_response(
        d, "utter_plan", {"plan_format": "online"}, "test", "s", {"short_name": "AA"}
    )
    assert message == {
        "text": "Try AA online.",
        "response": "utter_plan",
        "buttons": [
            {"title": "Find AA", "url": "https://example.org/AA"},
            # Payloads are never templated: they must stay exactly as offered.
            {"title": "More", "payload": '/inform{"plan_format": "online"}'},
        ],
    }


def test_unknown_response_renders_nothing():
    assert render_response(domain({"utter_a": [{"text": "a"}]}), "utter_b", {}, "t", "s") is None


def test_support_lines_are_used_for_their_purpose():
    """NHS 111 for medical advice, 111 option 2 for mental health: each reply the right one."""
    domain = Domain.load(PROJECT_DIR / "dialogues" / "domain.yml")

    def said(name: str) -> str:
        return " ".join(v.text for v in domain.responses[name])

    for medical in ("utter_withdrawal", "utter_relapse"):
        assert "{nhs111}" in said(medical), medical
        assert "{nhs111_mental_health}" not in said(medical), medical
    assert "{emergency}" in said("utter_withdrawal")  # fits, confusion, hallucinations
    for mental in ("utter_crisis_suicidal_thoughts", "utter_crisis_self_harm"):
        assert "{nhs111_mental_health}" in said(mental), mental
