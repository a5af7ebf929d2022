"""The NLU on tests/nlu_realistic.yml: messages written the way people type, never trained on.

`make test` holds the model to issue 9's floor (accuracy 0.90, misroutes 5%); the benchmark
targets are higher (README "Understanding"). The set must stay apart from the training data,
near-duplicates included, or the score would say nothing about real people. The development
sets (tests/nlu_dev.yml, split off it before either was studied, and tests/nlu_dev2.yml,
written later from the intent descriptions alone) are where misses are looked at and
settings chosen; they are kept apart from the training data in the same way.
"""

from __future__ import annotations

import re

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.engine.config import load_config
from bot.nlu.classifiers import LogisticRegressionClassifier
from bot.nlu.pipeline import load_or_train
from bot.nlu_eval import evaluate_file
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

TEST_FILE = PROJECT_DIR / "tests" / "nlu_realistic.yml"
NLU_FILE = PROJECT_DIR / "dialogues" / "nlu.yml"
TEST = TrainingData.load(TEST_FILE)
DEV = TrainingData.load(PROJECT_DIR / "tests" / "nlu_dev.yml")
# A second development set, written later from the intent descriptions alone.
DEV2 = TrainingData.load(PROJECT_DIR / "tests" / "nlu_dev2.yml")
SETS = {"nlu_realistic.yml": TEST, "nlu_dev.yml": DEV, "nlu_dev2.yml": DEV2}
TRAINING = TrainingData.load(NLU_FILE)
# Cosine of character 3-5 gram TF-IDF vectors: at or above this, two messages are the same
# message with small edits (the same measure as the crisis test files).
NEAR_DUPLICATE = 0.85
# Very short messages ("yes", "hiya") are the same in any data set; the check is for
# sentences that were copied or lightly edited.
MIN_WORDS = 4
# Issue 9: make test holds accuracy at 0.90 or more and misroutes at 5% or less.
ACCURACY_FLOOR = 0.90
MISROUTE_CEILING = 0.05


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.casefold()).split())


def test_covers_every_intent():
    counts: dict[str, int] = {}
    for intent, _ in TEST.examples:
        counts[intent] = counts.get(intent, 0) + 1
    for intent in TRAINING.intents():
        assert counts.get(intent, 0) >= 8, f"{intent}: {counts.get(intent, 0)} test messages"
    assert sum(counts.values()) >= 400


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_test_message_is_in_the_training_data(name):
    trained = {_key(example.text) for _, example in TRAINING.examples}
    copied = [e.text for _, e in SETS[name].examples if _key(e.text) in trained]
    assert not copied, copied


@pytest.mark.parametrize("dev", [DEV, DEV2], ids=["nlu_dev.yml", "nlu_dev2.yml"])
def test_the_development_sets_are_apart_from_the_test_set(dev):
    tested = {_key(e.text) for _, e in TEST.examples}
    assert not [e.text for _, e in dev.examples if _key(e.text) in tested]


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_test_message_is_a_near_duplicate_of_training_data(name):
    trained = [_key(example.text) for _, example in TRAINING.examples]
    tested = [e.text for _, e in SETS[name].examples if len(e.text.split()) >= MIN_WORDS]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))
    train_matrix = vectorizer.fit_transform(trained)
    similarity = (vectorizer.transform([_key(t) for t in tested]) @ train_matrix.T).toarray()
    closest = similarity.argmax(axis=1)
    problems = [
        f"{text!r} ~ {trained[closest[i]]!r} ({similarity[i, closest[i]]:.2f})"
        for i, text in enumerate(tested)
        if similarity[i, closest[i]] >= NEAR_DUPLICATE
    ]
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def model(models_dir):
    config = load_config(PROJECT_DIR / "config.yml")
    trained, _ = load_or_train(config.pipeline_specs(), NLU_FILE, TRAINING, models_dir)
    return trained


@pytest.fixture(scope="module")
def report(model):
    return evaluate_file(model, TEST)


def test_the_classifier_trains_to_its_optimum(model):
    # Stopped early, lbfgs ends at a point that depends on the CPU's floating-point kernels,
    # and the realistic accuracy moved by 0.013 between machines. Trained to its optimum,
    # which is unique, every machine gets the same model (config.yml, README "Understanding").
    (classifier,) = [c for c in model.components if isinstance(c, LogisticRegressionClassifier)]
    assert classifier.clf.n_iter_.max() < classifier.options["max_iter"]
    assert classifier.options["tol"] <= 1e-5


def test_accuracy_meets_the_target(report):
    assert report.accuracy >= ACCURACY_FLOOR, report.summary()


def test_misroutes_meet_the_target(report):
    wrong = "\n".join(f"{t} -> {g}: {n}" for t, g, n in report.confusions()[:20])
    assert report.misroute_rate <= MISROUTE_CEILING, f"{report.summary()}\n{wrong}"
