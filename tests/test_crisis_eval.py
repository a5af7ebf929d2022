"""The safety net on the held-out crisis file: the numbers `make test` holds it to.

Recall must be 100%: every held-out crisis message gets emergency signposting, and false
alarms must be 5% or less (issue 8). See README "Crisis safety net".
"""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.crisis_eval import evaluate_crisis, load_held_out
from bot.knowledge import Knowledge
from bot.safety import SafetyNet, ordinary_messages
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData
from bot.yamlfiles import ContentError

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
LABELS = {category.id for category in KNOWLEDGE.crisis.categories}
HELD_OUT = PROJECT_DIR / "tests" / "crisis_heldout.yml"


@pytest.fixture(scope="module")
def net() -> SafetyNet:
    training = TrainingData.load(PROJECT_DIR / "dialogues" / "nlu.yml")
    return SafetyNet.from_knowledge(
        KNOWLEDGE.crisis,
        PROJECT_DIR / "knowledge" / "crisis_examples",
        ordinary_messages(training),
    )


@pytest.fixture(scope="module")
def evaluation(net):
    return evaluate_crisis(net, load_held_out(HELD_OUT, LABELS))


def test_every_held_out_crisis_message_is_caught(evaluation):
    missed = [f"{name}: {text}" for name, r in evaluation.categories.items() for text in r.missed]
    assert evaluation.recall == 1.0, "missed:\n" + "\n".join(missed)


# Issue 8: false alarms of 5% or less on the held-out file (README "Crisis safety net").
FALSE_ALARM_TARGET = 0.05


def test_false_alarms_meet_the_5_percent_target(evaluation):
    alarms = "\n".join(f"{how}: {text}" for text, how in evaluation.false_alarms)
    assert evaluation.false_alarm_rate <= FALSE_ALARM_TARGET, alarms


@pytest.mark.parametrize("name", ["crisis_dev.yml", "crisis_dev2.yml"])
def test_every_development_crisis_message_is_caught(net, name):
    # The threshold is chosen on both development files, with a margin below their lowest-scoring
    # crisis message; this keeps that choice true as the data changes.
    dev = evaluate_crisis(net, load_held_out(PROJECT_DIR / "tests" / name, LABELS))
    missed = [f"{name}: {text}" for name, r in dev.categories.items() for text in r.missed]
    assert dev.recall == 1.0, "missed:\n" + "\n".join(missed)


def test_every_category_is_measured(evaluation):
    assert set(evaluation.categories) == LABELS


def test_the_threshold_is_at_or_below_the_highest_that_catches_everything(evaluation):
    assert evaluation.threshold <= evaluation.highest_threshold_for_full_recall()


def test_evaluate_crisis_prints_recall_and_false_alarms(capsys, tmp_path):
    assert main(["evaluate", "--crisis", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "recall:" in out
    assert "false alarms:" in out
    for label in LABELS:
        assert label in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("categories:\n  suicidal_thoughts: [hi]\n  self_harm: [x]\n", "none"),
        ("categories:\n  made_up: [hi]\n  none: [ok]\n", "unknown categories"),
        ("categories: [\n", "YAML"),
    ],
)
def test_a_bad_held_out_file_gets_a_clear_error(capsys, tmp_path, content, message):
    bad = tmp_path / "bad.yml"
    bad.write_text(content, encoding="utf-8")
    code = main(["evaluate", "--crisis", "--test-file", str(bad), "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.yml" in err
    assert message.lower() in err.lower()
    assert "Traceback" not in err


def test_a_missing_held_out_file_gets_a_clear_error(capsys, tmp_path):
    code = main(
        [
            "evaluate",
            "--crisis",
            "--test-file",
            str(tmp_path / "nope.yml"),
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "no held-out crisis file" in capsys.readouterr().err


def test_load_held_out_rejects_unknown_labels(tmp_path):
    bad = tmp_path / "h.yml"
    bad.write_text("categories:\n  x: [a]\n  none: [b]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown"):
        load_held_out(bad, LABELS)
    bad.write_text("nope: 1\n", encoding="utf-8")
    with pytest.raises(ContentError):
        load_held_out(bad, LABELS)


# The fresh held-out file (written 2026-12-03 by a writer who saw nothing of the project,
# never studied) is the honest measure. Every crisis message in it must be caught, and its
# false alarms must meet issue 8's 5% (README "Crisis safety net": 4.9%, 7 of 143, so a
# single new false alarm fails this; that is the point of a target).
FRESH = PROJECT_DIR / "tests" / "crisis_fresh_heldout.yml"


@pytest.fixture(scope="module")
def fresh(net):
    return evaluate_crisis(net, load_held_out(FRESH, LABELS))


def test_every_fresh_crisis_message_is_caught(fresh):
    missed = [f"{name}: {text}" for name, r in fresh.categories.items() for text in r.missed]
    assert fresh.recall == 1.0, "missed:\n" + "\n".join(missed)


def test_fresh_false_alarms_meet_the_5_percent_target(fresh):
    assert fresh.false_alarm_rate <= FALSE_ALARM_TARGET, fresh.false_alarm_rate
