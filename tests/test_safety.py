"""The crisis detector, with the real knowledge/crisis.yml.

A miss here can cost a life, a false alarm costs a kind message. Realistic phrases that the
patterns once missed are kept (with the pattern added for each) so they stay caught.
"""

from __future__ import annotations

import pytest

from bot.domain import Domain
from bot.knowledge import Knowledge
from bot.safety import CrisisDetector, normalise
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

CATEGORIES = {"suicide", "self_harm", "overdose", "medical_emergency", "danger"}


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector(Knowledge(PROJECT_DIR / "knowledge").crisis)


def missed(text: str, category: str, pattern: str) -> object:
    """A realistic crisis phrase the first patterns missed, and the pattern added for it."""
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
    missed(
        "thinking of ending it all",
        "suicide",
        r'"\\bend(ing)? (it all|my life|things)\\b" (the pattern has no "ending")',
    ),
    missed("thinking of ending my life", "suicide", r'"\\bend(ing)? (it all|my life|things)\\b"'),
    missed(
        "i want to end it",
        "suicide",
        r'"\\b(want|wanna|going|gonna|planning|about) to end it\\b"',
    ),
    missed(
        "i don't want to be alive anymore",
        "suicide",
        r'"\\b(don\'?t|do not) want to (be here|be alive|live|wake up)" (add "be alive")',
    ),
    missed(
        "i want to be dead",
        "suicide",
        r'"\\b(want|wanna) to be dead\\b"',
    ),
    missed(
        "life isn't worth living",
        "suicide",
        r'"\\b(not|isn\'?t) worth living\\b"',
    ),
    missed(
        "what's the point in living",
        "suicide",
        r'"\\bwhat\'?s the point (in|of) (living|going on|being alive)\\b"',
    ),
    missed("going to top myself", "suicide", r'"\\btop (my ?self|meself)\\b"'),
    missed(
        "i've taken all my pills",
        "overdose",
        r'"\\b(took|taken|swallowed) (too many|too much|all (my|the|of my)) '
        r'(pills|tablets|meds)\\b" (the pattern only has "took")',
    ),
    missed(
        "i took a load of pills",
        "overdose",
        r'"\\b(took|taken|swallowed) (a load of|loads of|a whole|a full) '
        r'(pills|tablets|meds|packet|box|bottle)"',
    ),
    missed(
        "he's turned blue",
        "overdose",
        r'"\\b(turn(ed|ing)|gone|going) blue\\b"',
    ),
    missed("she's unresponsive", "overdose", r'"\\b(unresponsive|not responding)\\b"'),
    missed(
        "i burned myself again",
        "self_harm",
        r'"\\b(cut|cutting|hurt|hurting|burn|burnt|burned|burning|harm|harming) '
        r'(my ?self|meself)\\b"',
    ),
    missed(
        "i think she's having a heart attack",
        "medical_emergency",
        r'"\\b(heart attack|stroke|can\'?t breathe properly)\\b"',
    ),
    missed(
        "he said he'll kill me",
        "danger",
        r'"\\b(he|she|they)(\'ll| will| said (he|she|they)\'?ll) (hurt|kill|hit) me\\b"',
    ),
    missed(
        "my partner hits me",
        "danger",
        r'"\\b(hits|beats|hurts|chokes|strangles) me\\b"',
    ),
]


@pytest.mark.parametrize(("text", "category"), CAUGHT + MISSED)
def test_crisis_is_caught(detector, text, category):
    assert detector.check(text) == category


def nlu_crisis_examples() -> list[object]:
    data = TrainingData.load(PROJECT_DIR / "dialogues" / "nlu.yml")
    params: list[object] = []
    for intent, example in data.examples:
        if intent != "crisis":
            continue
        params.append(example.text)
    return params


@pytest.mark.parametrize("text", nlu_crisis_examples())
def test_every_crisis_training_example_is_caught(detector, text):
    # The NLU's crisis intent is only a second net: the detector must catch these itself.
    assert detector.check(text) in CATEGORIES


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
def test_ordinary_messages_do_not_fire(detector, text):
    assert detector.check(text) is None


def test_killing_time_is_ignored_but_not_what_follows(detector):
    assert detector.check("killing time") is None
    assert detector.check("killing time then i'm going to kill myself") == "suicide"


def test_first_category_in_file_order_wins(detector):
    # Overdose comes before suicide in crisis.yml: the more urgent answer is given.
    assert detector.check("i took an overdose to kill myself") == "overdose"


def test_every_category_has_a_response_in_the_domain(detector):
    domain = Domain.load(PROJECT_DIR / "dialogues" / "domain.yml")
    assert {category for category, _, _ in detector.categories} == CATEGORIES
    for category in CATEGORIES:
        assert detector.response_for(category) in domain.responses


def test_response_for_unknown_category_is_key_error(detector):
    with pytest.raises(KeyError):
        detector.response_for("not_a_category")


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
