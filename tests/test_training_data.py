"""bot/training_data.py: Rasa's NLU example format, rules and test stories."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_DIR
from bot.training_data import (
    ActionStep,
    Entity,
    LoopStep,
    SlotStep,
    TrainingData,
    UserStep,
    load_rules,
    load_stories,
    parse_example,
    slot_pairs,
    split_examples,
)
from bot.yamlfiles import ContentError

DIALOGUES = PROJECT_DIR / "dialogues"


def write(tmp_path: Path, text: str, name: str = "nlu.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_containing(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


# --- example annotations --------------------------------------------------------------------


def test_plain_example_has_no_entities():
    example = parse_example("what groups are there")
    assert example.text == "what groups are there"
    assert example.entities == ()


def test_short_annotation():
    example = parse_example("tell me about [AA](option) please")
    assert example.text == "tell me about AA please"
    assert example.entities == (Entity(entity="option", value="AA", start=14, end=16),)
    entity = example.entities[0]
    assert example.text[entity.start : entity.end] == "AA"


def test_short_annotation_with_value():
    example = parse_example("what is [alcoholics anonymous](option:aa)")
    assert example.text == "what is alcoholics anonymous"
    (entity,) = example.entities
    assert (entity.entity, entity.value) == ("option", "aa")
    assert example.text[entity.start : entity.end] == "alcoholics anonymous"


def test_json_annotation():
    example = parse_example('try [face to face]{"entity": "plan_format", "value": "in_person"} ok')
    assert example.text == "try face to face ok"
    (entity,) = example.entities
    assert (entity.entity, entity.value) == ("plan_format", "in_person")
    assert (entity.start, entity.end) == (4, 16)


def test_json_annotation_without_value_uses_the_text():
    example = parse_example('[online]{"entity": "plan_format"}')
    assert example.entities == (Entity(entity="plan_format", value="online", start=0, end=6),)


def test_several_annotations_keep_their_offsets():
    example = parse_example(
        "[AA](option:aa) [next week](plan_when:next_week) or [online](plan_format)"
    )
    assert example.text == "AA next week or online"
    spans = [(example.text[e.start : e.end], e.entity, e.value) for e in example.entities]
    assert spans == [
        ("AA", "option", "aa"),
        ("next week", "plan_when", "next_week"),
        ("online", "plan_format", "online"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        '[AA]{"entity": option}',  # not JSON
        '[AA]{"value": "aa"}',  # no entity name
        "[AA](:aa)",  # no entity name
    ],
)
def test_bad_annotation_is_an_error(raw):
    with pytest.raises(ValueError, match="entity annotation"):
        parse_example(raw)


def test_split_examples():
    assert split_examples("- hi\n\n-   hello there  \n") == ["hi", "hello there"]
    with pytest.raises(ValueError, match="must start with '- '"):
        split_examples("- hi\nhello\n")


# --- nlu.yml files --------------------------------------------------------------------------

NLU = """\
version: "3.1"
nlu:
  - intent: option_details
    examples: |
      - tell me about [AA](option:aa)
      - what is [SMART]{"entity": "option", "value": "smart_recovery"}
      - more on [NA](option:na)
  - intent: greet
    examples: |
      - hi
      - hello
  - synonym: aa
    examples: |
      - alcoholics anonymous
      - Double A
  - lookup: option
    examples: |
      - aa
      - na
  - regex: postcode
    examples: |
      - [A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}
"""


def test_nlu_file_loads_every_kind_of_block(tmp_path):
    data = TrainingData.load(write(tmp_path, NLU))
    assert data.intents() == ["option_details", "greet"]
    assert len(data.examples) == 5
    intent, first = data.examples[0]
    assert intent == "option_details"
    assert first.text == "tell me about AA"
    assert data.lookups == {"option": ["aa", "na"]}
    assert data.regexes == {"postcode": ["[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"]}


def test_synonyms_are_collected_from_blocks_and_annotations(tmp_path):
    data = TrainingData.load(write(tmp_path, NLU))
    # from the synonym block, lower-cased
    assert data.synonyms["alcoholics anonymous"] == "aa"
    assert data.synonyms["double a"] == "aa"
    # from annotations whose value differs from their text
    assert data.synonyms["smart"] == "smart_recovery"
    # an annotation whose value is its own text is not a synonym
    assert "na" not in data.synonyms


def test_annotation_synonym_does_not_override_a_synonym_block(tmp_path):
    text = NLU.replace("      - more on [NA](option:na)\n", "      - [double a](option:other)\n")
    data = TrainingData.load(write(tmp_path, text))
    assert data.synonyms["double a"] == "aa"


def test_bad_annotation_in_nlu_names_file_and_line(tmp_path):
    text = NLU.replace("(option:na)", '{"entity" option}')
    path = write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        TrainingData.load(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line_containing(text, "examples")  # the first intent's examples
    assert error.message.startswith("nlu.0.IntentBlock.examples: ")
    assert "bad entity annotation" in error.message


def test_bad_regex_names_file_line_and_pattern(tmp_path):
    text = NLU.replace("[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", "([A-Z]{1,2}")
    path = write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        TrainingData.load(path)
    error = caught.value
    assert error.path == str(path)
    # the examples of the regex block, not the intent block that comes first in the union
    regex_line = line_containing(text, "- regex: postcode")
    assert error.line == regex_line + 1
    assert error.message.startswith("nlu.4.RegexBlock.examples: ")
    assert "bad regular expression '([A-Z]{1,2}'" in error.message


def test_example_line_without_dash(tmp_path):
    text = NLU.replace("      - hello\n", "      hello\n")
    with pytest.raises(ContentError, match="must start with '- '") as caught:
        TrainingData.load(write(tmp_path, text))
    assert caught.value.line == line_containing(text, "- hi") - 1


def test_block_of_unknown_kind(tmp_path):
    text = NLU + "  - intnet: typo\n    examples: |\n      - x\n"
    with pytest.raises(ContentError) as caught:
        TrainingData.load(write(tmp_path, text))
    assert caught.value.line == line_containing(text, "intnet")
    assert "one of 'intent', 'lookup', 'synonym' or 'regex'" in caught.value.message


def test_real_nlu_loads_with_entities():
    data = TrainingData.load(DIALOGUES / "nlu.yml")
    # Only the safety net decides a crisis: its examples are in knowledge/crisis_examples/.
    assert "crisis" not in data.intents()
    assert "get_help" in data.intents()
    annotated = {e.entity for _, ex in data.examples for e in ex.entities}
    assert {"option", "plan_format", "plan_when"} <= annotated
    assert data.synonyms["alcoholics anonymous"] == "aa"


# --- rules and stories ---------------------------------------------------------------------

RULES = """\
version: "3.1"
rules:
  - rule: greet
    steps:
      - intent: greet
      - action: utter_greet
  - rule: finish the form
    condition:
      - active_loop: plan_form
    steps:
      - action: plan_form
      - active_loop: null
      - slot_was_set:
          - requested_slot: null
          - plan_option
      - action: action_show_plan
    wait_for_user_input: false
"""


def test_rules_parse_into_typed_steps(tmp_path):
    rules = load_rules(write(tmp_path, RULES, "rules.yml")).rules
    assert [r.rule for r in rules] == ["greet", "finish the form"]
    first, second = rules
    assert isinstance(first.steps[0], UserStep)
    assert first.steps[0].intent == "greet"
    assert isinstance(first.steps[1], ActionStep)
    assert [type(s) for s in second.steps] == [ActionStep, LoopStep, SlotStep, ActionStep]
    assert second.steps[1].active_loop is None
    assert isinstance(second.condition[0], LoopStep)
    assert second.wait_for_user_input is False
    assert slot_pairs(second.steps[2]) == [
        ("requested_slot", None, True),
        ("plan_option", None, False),
    ]


def test_rule_step_with_two_kinds_names_its_line(tmp_path):
    text = RULES.replace(
        "      - action: utter_greet\n", "      - action: utter_greet\n        intent: x\n"
    )
    with pytest.raises(ContentError) as caught:
        load_rules(write(tmp_path, text, "rules.yml"))
    # 'intent' decides the kind of step, so 'action' is the key too many
    assert caught.value.line == line_containing(text, "- action: utter_greet")
    assert caught.value.message.startswith("rules.0.steps.1.UserStep.action: Extra inputs")


def test_rule_step_of_unknown_kind(tmp_path):
    text = RULES.replace("      - action: utter_greet\n", "      - acton: utter_greet\n")
    with pytest.raises(ContentError) as caught:
        load_rules(write(tmp_path, text, "rules.yml"))
    assert caught.value.line == line_containing(text, "acton")
    assert "a step needs one of" in caught.value.message


def test_rule_without_steps(tmp_path):
    text = 'version: "3.1"\nrules:\n  - rule: empty\n    steps: []\n'
    with pytest.raises(ContentError) as caught:
        load_rules(write(tmp_path, text, "rules.yml"))
    assert caught.value.line == 4
    assert caught.value.message.startswith("rules.0.steps: ")


def test_real_rules_load():
    rules = load_rules(DIALOGUES / "rules.yml").rules
    assert any(isinstance(s, UserStep) and s.intent == "crisis" for r in rules for s in r.steps)


STORIES = """\
version: "3.1"
stories:
  - story: asks about AA
    steps:
      - user: |
          tell me about [AA](option:aa)
        intent: option_details
      - action: action_option_details
"""


def test_story_with_user_text_loads(tmp_path):
    stories = load_stories(write(tmp_path, STORIES, "test_stories.yml")).stories
    (story,) = stories
    step = story.steps[0]
    assert isinstance(step, UserStep)
    assert step.intent == "option_details"
    assert step.user.strip() == "tell me about [AA](option:aa)"


def test_story_user_step_without_text_fails_at_that_step(tmp_path):
    text = STORIES + "      - intent: greet\n      - action: utter_greet\n"
    path = write(tmp_path, text, "test_stories.yml")
    with pytest.raises(ContentError) as caught:
        load_stories(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line_containing(text, "- intent: greet")
    assert error.message.startswith("stories.0.steps.2: ")
    assert "needs 'user' text" in error.message
