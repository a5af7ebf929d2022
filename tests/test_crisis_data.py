"""The crisis classifier's data: enough of each kind, and test files never trained on.

The held-out file (tests/crisis_heldout.yml) measures the safety net on messages it has not
seen; the development file (tests/crisis_dev.yml) is where the threshold is chosen and misses
are studied. Nothing in either may be in the training data or close to it: not the crisis
examples in knowledge/crisis_examples/, and not the NLU examples the classifier also learns
from. The two are kept apart from each other too, so studying the development file never
shows the held-out messages.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.crisis_eval import load_held_out
from bot.crisis_model import NONE, load_examples
from bot.crisis_text import normalise
from bot.knowledge import Knowledge
from bot.safety import ordinary_messages
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
LABELS = {category.id for category in KNOWLEDGE.crisis.categories}
EXAMPLES = load_examples(PROJECT_DIR / "knowledge" / "crisis_examples", LABELS)
HELD_OUT = load_held_out(PROJECT_DIR / "tests" / "crisis_heldout.yml", LABELS)
DEV = load_held_out(PROJECT_DIR / "tests" / "crisis_dev.yml", LABELS)
# Written later by writers who saw none of the data: the first was studied and is a
# development file now; the second is only measured (README "Crisis safety net").
DEV2 = load_held_out(PROJECT_DIR / "tests" / "crisis_dev2.yml", LABELS)
FRESH = load_held_out(PROJECT_DIR / "tests" / "crisis_fresh_heldout.yml", LABELS)
TEST_FILES = {
    "crisis_heldout.yml": HELD_OUT,
    "crisis_dev.yml": DEV,
    "crisis_dev2.yml": DEV2,
    "crisis_fresh_heldout.yml": FRESH,
}
# Two texts this alike (cosine of their character 3-5 gram TF-IDF vectors) are the same
# message with small edits: a typo, a word swapped, punctuation.
NEAR_DUPLICATE = 0.85


def test_at_least_600_crisis_examples_across_every_category():
    counts = Counter(example.label for example in EXAMPLES)
    positives = sum(n for label, n in counts.items() if label != NONE)
    assert positives >= 600
    for label in LABELS:
        assert counts[label] >= 40, f"{label} has only {counts[label]} examples"


def test_at_least_600_hard_negatives():
    assert sum(1 for example in EXAMPLES if example.label == NONE) >= 600


def test_held_out_covers_every_category():
    for label in LABELS | {NONE}:
        assert len(HELD_OUT.categories.get(label, [])) >= 20, label


def test_development_file_covers_every_category():
    for label in LABELS | {NONE}:
        assert len(DEV.categories.get(label, [])) >= 15, label


def _training_texts() -> list[str]:
    training = TrainingData.load(PROJECT_DIR / "dialogues" / "nlu.yml")
    return [example.text for example in EXAMPLES] + ordinary_messages(training)


@pytest.mark.parametrize("name", sorted(TEST_FILES))
def test_no_test_message_is_in_the_training_data(name):
    trained = {normalise(text) for text in _training_texts()}
    for label, messages in TEST_FILES[name].categories.items():
        for text in messages:
            assert normalise(text) not in trained, f"{name} {label}: {text!r} is trained on"


def _near_duplicates(texts: list[tuple[str, str]], others: list[str]) -> list[str]:
    """Each (label, text) whose closest text in others is a near-duplicate, described."""
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))
    other_matrix = vectorizer.fit_transform(others)
    matrix = vectorizer.transform([normalise(text) for _, text in texts])
    similarity = (matrix @ other_matrix.T).toarray()
    closest = similarity.argmax(axis=1)
    return [
        f"{label}: {text!r} ~ {others[closest[i]]!r} ({similarity[i, closest[i]]:.2f})"
        for i, (label, text) in enumerate(texts)
        if similarity[i, closest[i]] >= NEAR_DUPLICATE
    ]


@pytest.mark.parametrize("name", sorted(TEST_FILES))
def test_no_test_message_is_a_near_duplicate_of_training_data(name):
    trained = [normalise(text) for text in _training_texts()]
    held = [
        (label, text) for label, texts in TEST_FILES[name].categories.items() for text in texts
    ]
    problems = _near_duplicates(held, trained)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("dev_file", [DEV, DEV2], ids=["crisis_dev.yml", "crisis_dev2.yml"])
@pytest.mark.parametrize("held_file", [HELD_OUT, FRESH], ids=["heldout", "fresh_heldout"])
def test_the_development_files_are_apart_from_the_held_out_files(dev_file, held_file):
    held = [normalise(t) for texts in held_file.categories.values() for t in texts]
    dev = [(label, text) for label, texts in dev_file.categories.items() for text in texts]
    problems = _near_duplicates(dev, held)
    assert not problems, "\n".join(problems)


def test_the_near_duplicate_check_would_catch_a_light_edit():
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))
    original = normalise("my mate took too much gear and he wont wake up")
    edited = normalise("my mate took too much gear and he wont wake up now")
    matrix = vectorizer.fit_transform([original, edited, normalise("is the group free")])
    similarity = (matrix @ matrix.T).toarray()
    assert similarity[0, 1] >= NEAR_DUPLICATE
    assert similarity[0, 2] < NEAR_DUPLICATE


@pytest.mark.parametrize("name", sorted(TEST_FILES))
def test_test_messages_are_unique(name):
    messages = [normalise(t) for texts in TEST_FILES[name].categories.values() for t in texts]
    assert len(messages) == len(set(messages))


def test_no_example_is_in_two_files():
    # load_examples refuses that itself; this keeps the promise visible.
    keys = [normalise(example.text) for example in EXAMPLES]
    assert len(keys) == len(set(keys))
    assert np.all([bool(key) for key in keys])
