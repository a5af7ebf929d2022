"""The crisis classifier: its data files, its hand-applied features, and its segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.crisis_model import (
    CrisisClassifier,
    LabelledExample,
    load_examples,
    train_cached,
)
from bot.crisis_text import segments
from bot.yamlfiles import ContentError

LABELS = {"suicidal_thoughts", "overdose_other"}


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _small(folder: Path) -> list[LabelledExample]:
    _write(
        folder,
        "thoughts.yml",
        "category: suicidal_thoughts\nexamples:\n  - i want to die\n  - no point living\n"
        "  - wish i wasnt here\n  - everyone is better off without me\n",
    )
    _write(
        folder,
        "overdose.yml",
        "category: overdose_other\nexamples:\n  - my mate wont wake up\n  - his lips are blue\n"
        "  - she took too much gear\n  - he is not breathing\n",
    )
    _write(
        folder,
        "none.yml",
        "category: none\nexamples:\n  - what groups are there\n  - is it free\n"
        "  - dying for a brew\n  - my feet are killing me\n  - can my mum come\n",
    )
    return load_examples(folder, LABELS)


def test_examples_load_with_their_labels(tmp_path):
    examples = _small(tmp_path)
    assert {e.label for e in examples} == LABELS | {"none"}
    assert len(examples) == 13


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("category: made_up\nexamples:\n  - hello\n", "not a crisis category"),
        ("category: none\nexamples: []\n", "examples"),
        ("category: none\nexamples:\n  - hi\n  - HI\n", "appears twice"),
        ("category: none\nexamples:\n  - '   '\n", "blank"),
        ("category: none\nexamples: [hi\n", "YAML"),
        ("category: none\nexamples:\n  - hi\nextra: 1\n", "extra"),
    ],
)
def test_bad_example_files_name_the_file_and_the_fault(tmp_path, content, message):
    _write(tmp_path, "bad.yml", content)
    with pytest.raises(ContentError) as caught:
        load_examples(tmp_path, LABELS)
    assert "bad.yml" in str(caught.value)
    assert message.lower() in str(caught.value).lower()


def test_an_example_in_two_files_is_an_error(tmp_path):
    _write(tmp_path, "a.yml", "category: none\nexamples:\n  - is it free\n")
    _write(tmp_path, "b.yml", "category: suicidal_thoughts\nexamples:\n  - Is it free\n")
    with pytest.raises(ContentError, match=r"also in a\.yml"):
        load_examples(tmp_path, LABELS)


def test_no_files_or_no_negatives_is_an_error(tmp_path):
    with pytest.raises(ContentError, match="no crisis example files"):
        load_examples(tmp_path, LABELS)
    _write(tmp_path, "a.yml", "category: suicidal_thoughts\nexamples:\n  - i want to die\n")
    with pytest.raises(ContentError, match="none"):
        load_examples(tmp_path, LABELS)


def test_hand_applied_features_match_scikit_learn(tmp_path):
    classifier = CrisisClassifier.train(_small(tmp_path), 0.5)
    texts = ["i want to die", "IS IT FREE??", "", "😀", "his lips r blue", "qqq zzz"]
    ours = classifier.probabilities(texts)
    theirs = classifier.model.predict_proba(classifier.matrix(texts))
    assert np.allclose(ours, theirs, atol=1e-12)


def test_read_finds_the_worst_segment(tmp_path):
    classifier = CrisisClassifier.train(_small(tmp_path), 0.5)
    scored = classifier.read("is it free. my mate wont wake up")
    assert scored is not None
    assert scored.segment == "my mate wont wake up"
    assert scored.category == "overdose_other"
    assert classifier.read("   ") is None
    assert classifier.check("   ") is None


def test_training_is_shared_for_the_same_data(tmp_path):
    examples = _small(tmp_path)
    first = train_cached(examples, ["hello there"], 0.4)
    assert train_cached(examples, ["hello there"], 0.4) is first
    assert train_cached(examples, ["something else"], 0.4) is not first


def test_ordinary_messages_that_are_crisis_examples_stay_crises(tmp_path):
    examples = _small(tmp_path)
    classifier = train_cached(examples, ["I want to die", "hello"], 0.4)
    assert classifier.model.n_features_in_ > 0
    # "I want to die" was not added as a negative: it keeps its crisis label only.
    assert classifier.read("i want to die").category == "suicidal_thoughts"


def test_segments_cover_sentences_and_long_runs():
    assert segments("") == []
    assert segments("hello") == ["hello"]
    parts = segments("is it free? i want to die.\nok")
    assert parts[0] == "is it free? i want to die. ok"
    assert "i want to die." in parts
    long = " ".join(f"w{i}" for i in range(60)) + " i want to die"
    windows = segments(long)
    assert any(part.endswith("i want to die") and len(part.split()) <= 18 for part in windows)


def test_a_saved_model_reads_back_the_same(tmp_path):
    classifier = CrisisClassifier.train(_small(tmp_path / "data"), 0.4, 0.5)
    path = tmp_path / "models" / "crisis.npz"
    classifier.save(path)
    loaded = CrisisClassifier.load(path)
    texts = ["i want to die", "is it free", "his lips r blue"]
    assert np.allclose(loaded.probabilities(texts), classifier.probabilities(texts))
    assert (loaded.threshold, loaded.window_weight) == (0.4, 0.5)
    assert loaded.labels == classifier.labels


def test_the_model_cache_is_used_and_a_damaged_file_is_retrained(tmp_path, caplog):
    examples = _small(tmp_path / "data")
    cache = tmp_path / "models"
    first = train_cached(examples, ["a fresh message"], 0.4, 1.0, cache)
    files = list(cache.glob("crisis-*.npz"))
    assert len(files) == 1
    train_cached(examples, ["another message"], 0.4, 1.0, cache)  # clears the memo
    again = train_cached(examples, ["a fresh message"], 0.4, 1.0, cache)
    assert again is not first  # read from the file, not trained
    assert np.allclose(again.probabilities(["hi"]), first.probabilities(["hi"]))
    for damage in (b"not a model", files[0].read_bytes()[:200]):  # garbage; a cut-off zip
        files[0].write_bytes(damage)
        train_cached(examples, ["another message"], 0.4, 1.0, cache)
        retrained = train_cached(examples, ["a fresh message"], 0.4, 1.0, cache)
        assert retrained.labels == first.labels
        assert "could not be read" in caplog.text
        caplog.clear()


def test_an_unwritable_cache_is_not_fatal(tmp_path, caplog):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    classifier = train_cached(_small(tmp_path / "data"), ["x y z"], 0.4, 1.0, blocker)
    assert classifier.read("i want to die") is not None
    assert "could not be cached" in caplog.text
