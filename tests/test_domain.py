"""bot/domain.py: the real domain loads, and every kind of mistake names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import BUILTIN_ACTIONS, Domain, PayloadButton, UrlButton
from bot.settings import PROJECT_DIR
from bot.yamlfiles import ContentError

REAL_DOMAIN = PROJECT_DIR / "dialogues" / "domain.yml"

SMALL = """\
version: "3.1"
intents:
  - greet
  - inform:
      use_entities: true
entities:
  - colour
slots:
  colour:
    type: categorical
    values: [red, blue]
    initial_value: red
    mappings:
      - type: from_entity
        entity: colour
  note:
    type: text
    influence_conversation: false
    mappings:
      - type: from_text
        conditions:
          - active_loop: note_form
            requested_slot: note
  agreed:
    type: bool
    mappings:
      - type: from_intent
        intent: greet
        value: true
responses:
  utter_hello:
    - text: Hello
      buttons:
        - title: Go
          payload: /greet
        - title: Read
          url: https://example.org
  utter_ask_note:
    - text: Any note?
forms:
  note_form:
    required_slots:
      - note
actions:
  - action_custom
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "domain.yml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ContentError:
    path = write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        Domain.load(path)
    assert caught.value.path == str(path)
    return caught.value


def line_containing(text: str, needle: str) -> int:
    """1-based line of the first line containing needle (so tests do not hard-code numbers)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


# --- the real domain ----------------------------------------------------------------------


def test_real_domain_loads():
    domain = Domain.load(REAL_DOMAIN)
    assert domain.path == REAL_DOMAIN
    assert {"start", "crisis", "list_options", "option_details"} <= set(domain.intents)
    assert "option" in domain.entities
    assert "plan_form" in domain.forms
    assert "action_crisis_support" in domain.custom_actions
    assert all(name.startswith("utter_") for name in domain.responses)


def test_real_domain_form_slots_are_declared_and_never_hold_typed_text():
    domain = Domain.load(REAL_DOMAIN)
    for form in domain.forms.values():
        assert set(form.required_slots) <= set(domain.slots)
    # no slot in the real domain keeps free text, so nothing typed is ever stored
    assert domain.transient_slots() == set()


# --- mistakes, each with file and line ------------------------------------------------------


def test_small_domain_is_valid(tmp_path):
    domain = Domain.load(write(tmp_path, SMALL))
    assert domain.intents == ["greet", "inform"]
    assert domain.entities == ["colour"]
    buttons = domain.responses["utter_hello"][0].buttons
    assert isinstance(buttons[0], PayloadButton)
    assert isinstance(buttons[1], UrlButton)


def test_unknown_top_level_key(tmp_path):
    text = SMALL + "stories: []\n"
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "stories:")
    assert error.message.startswith("stories: Extra inputs are not permitted")


def test_unknown_key_inside_a_slot(tmp_path):
    text = SMALL.replace("    initial_value: red\n", "    initial_value: red\n    colour: x\n")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "    colour: x")
    assert error.message.startswith("slots.colour.colour: Extra inputs")


def test_misspelt_response_key(tmp_path):
    text = SMALL.replace("    - text: Any note?", "    - txt: Any note?")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "txt: Any note?")
    assert error.message.startswith("responses.utter_ask_note.0.txt: Extra inputs")


def test_bad_slot_type(tmp_path):
    text = SMALL.replace("    type: text\n", "    type: string\n")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "type: string")
    assert error.message.startswith("slots.note.type: ")
    assert "'text'" in error.message


def test_from_entity_mapping_without_entity(tmp_path):
    text = SMALL.replace("        entity: colour\n", "")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "- type: from_entity")
    assert error.message.startswith("slots.colour.mappings.0: ")
    assert "needs an 'entity'" in error.message


def test_from_intent_mapping_without_value(tmp_path):
    text = SMALL.replace("        value: true\n", "")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "- type: from_intent")
    assert "needs a 'value'" in error.message


def test_categorical_slot_without_values(tmp_path):
    text = SMALL.replace("    values: [red, blue]\n", "")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "  colour:")
    assert error.message.startswith("slots.colour: ")
    assert "categorical slot needs 'values'" in error.message


def test_slot_without_mappings(tmp_path):
    text = SMALL.replace(
        "    mappings:\n      - type: from_intent\n        intent: greet\n        value: true\n",
        "    mappings: []\n",
    )
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "mappings: []")
    assert error.message.startswith("slots.agreed.mappings: ")


def test_form_with_unknown_slot(tmp_path):
    text = SMALL.replace("      - note\n", "      - note\n      - postcode\n")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "- postcode")
    assert error.message.startswith("forms.note_form.required_slots.1: ")
    assert "unknown slot 'postcode'" in error.message


def test_response_not_starting_with_utter(tmp_path):
    text = SMALL.replace("  utter_ask_note:", "  ask_note:")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "  ask_note:")
    assert error.message.startswith("responses.ask_note: ")
    assert "must start with 'utter_'" in error.message


def test_response_without_variations(tmp_path):
    text = SMALL.replace("  utter_ask_note:\n    - text: Any note?\n", "  utter_ask_note: []\n")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "utter_ask_note: []")
    assert "has no variations" in error.message


def test_button_with_neither_payload_nor_url(tmp_path):
    text = SMALL.replace("          url: https://example.org\n", "")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "- title: Read")
    assert error.message.startswith("responses.utter_hello.0.buttons.1")


def test_bad_yaml_in_domain(tmp_path):
    text = SMALL.replace("  - greet\n", "  - greet\n\t- hello\n")
    error = load_error(tmp_path, text)
    assert error.line == line_containing(text, "\t- hello")
    assert "not valid YAML" in error.message


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Domain:
    return Domain.load(write(tmp_path, SMALL))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("utter_hello", True),  # a response
        ("action_custom", True),  # a custom action
        ("note_form", True),  # a form
        ("action_listen", True),  # built in
        ("action_deactivate_loop", True),
        ("utter_unknown", False),
        ("greet", False),  # an intent is not an action
        ("action_other", False),
    ],
)
def test_is_action(small, name, expected):
    assert small.is_action(name) is expected


def test_every_builtin_is_an_action(small):
    assert all(small.is_action(name) for name in BUILTIN_ACTIONS)


def test_initial_slots(small):
    assert small.initial_slots() == {
        "colour": "red",
        "note": None,
        "agreed": None,
        "requested_slot": None,
    }


def test_transient_slots_are_the_free_text_ones(small):
    assert small.transient_slots() == {"note"}


def test_as_rasa_dict(small):
    rasa = small.as_rasa_dict()
    assert rasa["version"] == "3.1"
    assert rasa["intents"] == ["greet", "inform"]
    assert rasa["entities"] == ["colour"]
    assert rasa["forms"] == {"note_form": {"required_slots": ["note"]}}
    assert rasa["actions"] == ["action_custom"]
    assert rasa["session_config"] == {
        "session_expiration_time": 60,
        "carry_over_slots_to_new_session": True,
    }
    colour = rasa["slots"]["colour"]
    assert colour["type"] == "categorical"
    assert colour["values"] == ["red", "blue"]
    assert colour["mappings"][0]["type"] == "from_entity"
    assert colour["mappings"][0]["entity"] == "colour"
    # None-valued options are left out, as Rasa's own domain dict does
    assert "min_value" not in colour
    hello = rasa["responses"]["utter_hello"][0]
    assert hello["text"] == "Hello"
    assert hello["buttons"] == [
        {"title": "Go", "payload": "/greet"},
        {"title": "Read", "url": "https://example.org"},
    ]
    assert rasa["responses"]["utter_ask_note"] == [{"text": "Any note?"}]


def test_real_domain_as_rasa_dict():
    domain = Domain.load(REAL_DOMAIN)
    rasa = domain.as_rasa_dict()
    assert set(rasa["responses"]) == set(domain.responses)
    assert rasa["forms"]["plan_form"]["required_slots"] == [
        "plan_option",
        "plan_format",
        "plan_when",
    ]
    assert set(rasa["slots"]) == set(domain.slots)
