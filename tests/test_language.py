"""bot/language.py: the framing check and the reading-age check, on all content."""

from __future__ import annotations

import pytest

from bot.domain import Domain
from bot.knowledge import Knowledge
from bot.language import LanguageChecker, check_content, flesch_kincaid_grade, syllables
from bot.settings import PROJECT_DIR

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
DOMAIN = Domain.load(PROJECT_DIR / "dialogues" / "domain.yml")
CHECKER = LanguageChecker(KNOWLEDGE.language)


def test_all_content_passes_framing_and_readability():
    assert check_content(DOMAIN, KNOWLEDGE) == []


@pytest.mark.parametrize(
    "text",
    [
        "You must attend a meeting every week.",
        "Attendance is mandatory.",
        "Groups for addicts.",
        "A group for alcoholics.",
        "Help for a substance abuser.",
        "Stay clean for 30 days.",
        "You need to go to AA.",
        "You have to join a group.",
        "It is a condition of your order.",
        "Bring proof of attendance.",
        "People who relapsed are welcome.",
    ],
)
def test_coercive_or_stigmatising_wording_is_caught(text):
    problems = CHECKER.framing(text)
    assert problems, text
    assert all(":" in p for p in problems)  # each names the reason


@pytest.mark.parametrize(
    "text",
    [
        "Alcoholics Anonymous is a 12-step group.",
        "See https://www.alcoholics-anonymous.org.uk for meetings.",
        "You could try a group. It's up to you.",
        "Some people find it helps to bring a friend.",
        "If you might act on these thoughts now, call 999.",
    ],
)
def test_neutral_wording_and_group_names_pass(text):
    assert CHECKER.framing(text) == []


def test_every_framing_rule_has_a_reason():
    for rule in KNOWLEDGE.language.framing:
        assert len(rule.reason) > 10, rule.pattern


def test_every_readability_exception_names_a_real_response_and_a_reason():
    for exception in KNOWLEDGE.language.readability_exceptions:
        assert exception.response in DOMAIN.responses
        assert len(exception.reason) > 10


def test_reading_age_limit_is_about_eleven():
    # Flesch-Kincaid grade + 5 is roughly a reading age.
    assert 5.5 <= KNOWLEDGE.language.max_grade <= 7


def test_grade_is_low_for_plain_words_and_high_for_dense_text():
    plain = "You can just listen. Nobody has to speak. It is free."
    dense = (
        "Multidimensional psychosocial interventions demonstrate considerable "
        "heterogeneity regarding organisational implementation characteristics."
    )
    assert flesch_kincaid_grade(plain) < 3
    assert flesch_kincaid_grade(dense) > 15
    assert flesch_kincaid_grade("") == 0.0


def test_syllables_come_from_the_dictionary_with_a_fallback():
    assert syllables("meeting") == 2
    assert syllables("automated") == 4
    assert syllables("zorblaxian") >= 2  # not in the dictionary: hyphenation points


def test_a_hard_response_is_reported(tmp_path):
    hard = (
        "Notwithstanding organisational considerations, practitioners facilitate "
        "comprehensive psychosocial engagement opportunities."
    )
    assert CHECKER.readability("utter_x", hard)
    assert CHECKER.readability("utter_option_card", hard) is None  # a listed exception


@pytest.mark.parametrize(
    "text",
    ["Good to hear. What would you like to do?", "Glad to hear it!", "That's great.", "Brilliant"],
)
def test_cheer_is_caught_outside_replies_to_the_bots_own_question(text):
    assert CHECKER.cheer("utter_anything", text)


def test_cheer_is_allowed_where_the_bot_asked_how_the_person_is():
    rules = KNOWLEDGE.language.model_copy(update={"cheerful_allowed": ["utter_checkin_good"]})
    checker = LanguageChecker(rules)
    assert checker.cheer("utter_checkin_good", "Good to hear.") == []
    assert checker.cheer("utter_glad", "Good to hear.")


def test_no_response_is_cheerful_unasked():
    for name, variations in DOMAIN.responses.items():
        for variation in variations:
            assert not CHECKER.cheer(name, variation.text), name
