"""The safety net with the real knowledge/: patterns OR the trained classifier.

A miss here can cost a life, a false alarm costs a kind message. Realistic phrases that the
patterns once missed are kept so they stay caught. The held-out measure of the whole net is
in tests/test_crisis_eval.py; these are the cases each net must get right on its own terms.
"""

from __future__ import annotations

import pytest

from bot.crisis_model import Scored
from bot.domain import Domain
from bot.knowledge import Knowledge
from bot.safety import CrisisDetector, Reading, SafetyNet, normalise, ordinary_messages
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
CATEGORIES = {category.id for category in KNOWLEDGE.crisis.categories}
# The kinds the first patterns had, and the categories that now answer each.
SUICIDE = {"suicidal_thoughts", "suicide_plan"}
OVERDOSE = {"overdose_self", "overdose_other", "medical_emergency"}
DANGER = {"domestic_abuse", "violence"}
KINDS = {
    "suicide": SUICIDE,
    "self_harm": {"self_harm"},
    "overdose": OVERDOSE,
    "medical_emergency": {"medical_emergency", "overdose_other", "overdose_self"},
    "danger": DANGER,
}


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector(KNOWLEDGE.crisis)


@pytest.fixture(scope="module")
def net() -> SafetyNet:
    training = TrainingData.load(PROJECT_DIR / "dialogues" / "nlu.yml")
    return SafetyNet.from_knowledge(
        KNOWLEDGE.crisis,
        PROJECT_DIR / "knowledge" / "crisis_examples",
        ordinary_messages(training),
    )


def missed(text: str, category: str) -> object:
    """A realistic crisis phrase the first patterns missed."""
    return pytest.param(text, category, id=f"once-missed-{text}")


CAUGHT = [
    # suicide: direct, indirect, slang, typos, shouting
    ("i want to kms", "suicide"),
    ("dont want to be here anymore", "suicide"),
    ("I don’t want to be here any more", "suicide"),  # curly apostrophe
    ("SUICIDAL", "suicide"),
    ("feeling suicidal again", "suicide"),
    ("i wanna die", "suicide"),
    ("i just want to dieeee", "suicide"),  # stretched word
    ("i want to kill myself", "suicide"),
    ("im gonna kill my self", "suicide"),
    ("gonna KILLLL MYSELF", "suicide"),
    ("going to unalive myself", "suicide"),
    ("i might end it all tonight", "suicide"),
    ("i'm going to take my own life", "suicide"),
    ("i wish i was dead", "suicide"),
    ("everyone would be better off dead without me", "suicide"),
    ("no point living anymore", "suicide"),
    ("i can't go on like this", "suicide"),
    ("i cant go on", "suicide"),
    ("i dont want to wake up tomorrow", "suicide"),
    # self-harm
    ("been cutting myself again", "self_harm"),
    ("i self harm", "self_harm"),
    ("i've been self-harming", "self_harm"),
    ("i keep hurting myself", "self_harm"),
    ("i burn myself when it gets bad", "self_harm"),
    # overdose
    ("my mate od'd", "overdose"),
    ("my mate OD’d", "overdose"),
    ("i think i've od'ed", "overdose"),
    ("he's ODing", "overdose"),
    ("she oded last night", "overdose"),
    ("my mate odd last night", "overdose"),
    ("i think he took an od", "overdose"),
    ("she's overdosing", "overdose"),
    ("he's not breathing", "overdose"),
    ("hes stopped breathing", "overdose"),
    ("took all my tablets", "overdose"),
    ("i took too many pills", "overdose"),
    ("cant wake him up", "overdose"),
    ("she wont wake up", "overdose"),
    ("his lips are blue", "overdose"),
    ("he's unconscious", "overdose"),
    ("he had way too much gear", "overdose"),
    # medical emergency
    ("she's having a seizure", "medical_emergency"),
    ("he's fitting", "medical_emergency"),
    ("chest pains", "medical_emergency"),
    ("i've got chest pain", "medical_emergency"),
    ("i think i've got the dts", "medical_emergency"),
    ("i'm throwing up blood", "medical_emergency"),
    ("my dad collapsed", "medical_emergency"),
    # danger
    ("i'm not safe at home", "danger"),
    ("im not safe", "danger"),
    ("we are in danger", "danger"),
    ("he is going to hurt me", "danger"),
    ("she's gonna kill me", "danger"),
    ("i'm getting beaten", "danger"),
    ("i'm afraid for my life", "danger"),
]

MISSED = [
    missed("thinking of ending it all", "suicide"),
    missed("thinking of ending my life", "suicide"),
    missed("i want to end it", "suicide"),
    missed("i don't want to be alive anymore", "suicide"),
    missed("i want to be dead", "suicide"),
    missed("life isn't worth living", "suicide"),
    missed("what's the point in living", "suicide"),
    missed("going to top myself", "suicide"),
    missed("i've taken all my pills", "overdose"),
    missed("i took a load of pills", "overdose"),
    missed("he's turned blue", "overdose"),
    missed("she's unresponsive", "overdose"),
    missed("i burned myself again", "self_harm"),
    missed("i think she's having a heart attack", "medical_emergency"),
    missed("he said he'll kill me", "danger"),
    missed("my partner hits me", "danger"),
]


@pytest.mark.parametrize(("text", "kind"), CAUGHT + MISSED)
def test_crisis_is_caught_with_a_fitting_reply(net, text, kind):
    finding = net.check(text)
    assert finding is not None, text
    assert finding.category in KINDS[kind]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i've taken too many of my tablets", "overdose_self"),
        ("i think i've overdosed", "overdose_self"),
        ("my mate's overdosed and won't wake up", "overdose_other"),
        ("she took too many pills and she's not responding", "overdose_other"),
    ],
)
def test_whose_overdose_it_is_decides_the_reply(net, text, category):
    finding = net.check(text)
    assert finding is not None
    assert finding.category == category


ORDINARY = [
    "what groups are there",
    "i'm killing time",
    "im just killing time till my appointment",
    "tell me about AA",
    "dying to know more",
    "i'm dying for a brew",
    "I want to stop drinking",
    "i want to stop using",
    "that's odd",
    "is it odd to go on my own",
    "i'm not sure",
    "not now thanks",
    "can i bring someone",
    "what happens at a meeting",
    "i drink too much at the weekend",
    "my mum drinks too much",
    "how do i stop smoking weed",
    "i want to get off the gear",
    "is it safe to go alone",
    "i'm on probation",
    "help",
    "",
    "   ",
    "👍",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_do_not_fire(net, detector, text):
    assert detector.check(text) is None
    assert net.check(text) is None


def test_killing_time_is_ignored_but_not_what_follows(detector, net):
    assert detector.check("killing time") is None
    assert detector.check("killing time then i'm going to kill myself") in SUICIDE
    assert net.check("killing time then i'm going to kill myself") is not None


def test_the_more_urgent_category_wins(detector):
    # Overdose comes before suicide in crisis.yml: the answer that puts 999 first is given.
    assert detector.check("i took an overdose to kill myself") == "overdose_self"


def test_every_category_has_a_response_and_a_first_line():
    domain = Domain.load(PROJECT_DIR / "dialogues" / "domain.yml")
    lines = {line.id for line in KNOWLEDGE.support_lines}
    for category in KNOWLEDGE.crisis.categories:
        assert category.response in domain.responses
        assert category.first_line in lines


def test_a_crisis_said_only_at_the_end_of_a_long_message_is_caught(net):
    filler = "we went to the shops and then had tea and talked about the weekend. " * 80
    assert len(filler) > 5000
    finding = net.check(filler + "honestly i cant see a way through and want to die")
    assert finding is not None
    assert finding.category in SUICIDE


def test_the_classifier_catches_what_no_pattern_names(net, detector):
    text = "ive given my dog to my sister and sorted out who gets what. wont be around much longer"
    assert detector.check(text) is None
    finding = net.check(text)
    assert finding is not None
    assert finding.by_classifier
    assert not finding.by_patterns


# --- normalise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I WANT TO DIE", "i want to die"),
        ("  too   many\tspaces \n", "too many spaces"),
        ("sooooo tired", "soo tired"),
        ("killll myself", "kill myself"),
        ("i’m", "i am"),
        ("I‘m", "i am"),
        ("i`m here", "i am here"),
        ("im here", "i am here"),
        ("dont", "don't"),
        ("cant", "can't"),
        ("u ok? ur mate", "you ok? your mate"),
        ("i wanna go", "i want to go"),
        ("gonna", "going to"),
        ("plz pls", "please please"),
        ("kms", "kill myself"),
        ("he took an od", "he took an overdose"),
        ("he od'd", "he overdosed"),
        ("he OD'ed", "he overdosed"),
        ("she oded", "she overdosed"),
        ("she's ODing", "she's overdosing"),
        ("my mate odd", "my mate overdosed"),
        ("that's odd", "that's odd"),
        ("unalive", "kill"),
        ("ｋｍｓ", "kill myself"),  # full-width letters (NFKC)
        ("", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_normalise_to_one_letter():
    assert normalise("i want to dieeee", repeats=1) == "i want to die"
    assert normalise("i want to dieeee") == "i want to diee"
    # Doubled letters are left alone either way; only runs of three or more are squeezed.
    assert normalise("kill", repeats=1) == "kill"


def test_normalise_does_not_expand_inside_words():
    assert normalise("umbrella odour kmsx dontt") == "umbrella odour kmsx dontt"


@pytest.mark.parametrize(
    "text",
    [
        "i tried to kill myself in 2019 and i want to do it again tonight",
        "i overdosed two years ago and ive just taken loads again",
        "back in 2020 i self harmed and ive started cutting again",
    ],
)
def test_a_past_event_does_not_hide_a_crisis_now(net, detector, text):
    # A sentence told about the past is left to the classifier, which reads all of it.
    assert detector.check(text) is None
    assert net.check(text) is not None


def test_a_past_event_alone_is_not_a_pattern_match(detector):
    assert detector.check("my mate overdosed in 2019 and it scared me") is None
    assert detector.check("my mate overdosed and it scared me") == "overdose_other"


def test_a_thought_of_suicide_never_becomes_a_threat_to_someone_else():
    """The classifier may make a reply more urgent only within the kinds the data allows."""
    crisis = Knowledge(PROJECT_DIR / "knowledge").crisis
    net = SafetyNet(crisis, classifier=None)

    def reading(pattern: str, classified: str) -> Reading:
        probabilities = {classified: 0.9, "none": 0.1}
        return Reading(pattern, Scored(0.9, classified, "text", probabilities))

    assert net.decide(reading("suicidal_thoughts", "violence")).category == "suicidal_thoughts"
    assert net.decide(reading("suicidal_thoughts", "suicide_plan")).category == "suicide_plan"
    assert net.decide(reading("suicidal_thoughts", "overdose_self")).category == "overdose_self"
