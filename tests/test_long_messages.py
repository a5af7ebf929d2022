"""Messages that ask several things (bot/engine/long_messages.py), with a stand-in parser."""

from __future__ import annotations

from typing import Any

from bot.engine.long_messages import read_long

READINGS = {
    "hiya": ("greet", 0.99),
    "i get the shakes every morning": ("withdrawal", 0.7),
    "is it free": ("cost", 0.95),
    "can i get a detox": ("treatment", 0.8),
    "what groups are there": ("list_options", 0.9),
    "my son drinks a lot": ("family_support", 0.9),
    "blah blah": ("nlu_fallback", 0.4),
}


def parse(text: str) -> dict[str, Any]:
    """The reading of a sentence from the table; a whole message reads as its last part."""
    key = text.rstrip(".?! ").lower()
    name, confidence = READINGS.get(key, READINGS.get(key.split(". ")[-1], ("cost", 0.5)))
    return {
        "text": text,
        "intent": {"name": name, "confidence": confidence},
        "intent_ranking": [{"name": name, "confidence": confidence}],
        "entities": [{"entity": "option", "value": "aa", "start": 0, "end": 2}],
    }


def test_one_sentence_is_the_plain_parse():
    assert read_long(parse, "is it free") == parse("is it free")


def test_withdrawal_comes_before_everything_else():
    result = read_long(parse, "Hiya. Is it free? I get the shakes every morning.")
    assert result["intent"]["name"] == "withdrawal"
    assert result["metadata"] == {"also": ["cost"]}
    assert result["text"] == "Hiya. Is it free? I get the shakes every morning."


def test_treatment_comes_before_ordinary_questions():
    result = read_long(parse, "what groups are there. can i get a detox")
    assert result["intent"]["name"] == "treatment"
    assert result["metadata"]["also"] == ["list_options"]


def test_small_talk_and_unknown_sentences_are_never_chosen():
    result = read_long(parse, "hiya. blah blah. is it free?")
    assert result["intent"]["name"] == "cost"
    assert "metadata" not in result


def test_the_whole_message_keeps_its_context_among_ordinary_questions():
    # Read whole, "my son drinks a lot. what groups are there" is about a family member.
    def whole_is_family(text: str) -> dict[str, Any]:
        if ". " in text:
            return {
                "text": text,
                "intent": {"name": "family_support", "confidence": 0.8},
                "intent_ranking": [],
                "entities": [],
            }
        return parse(text)

    result = read_long(whole_is_family, "my son drinks a lot. what groups are there")
    assert result["intent"]["name"] == "family_support"
    assert result["metadata"]["also"] == ["list_options"]


def test_entities_come_from_the_whole_text():
    result = read_long(parse, "is it free. i get the shakes every morning")
    assert result["entities"][0]["start"] == 0
