"""Held-out NLU evaluation (bot/evaluate.py) and `mutual-aid-bot evaluate`."""

from __future__ import annotations

import subprocess
import sys

from bot.engine.config import load_config
from bot.evaluate import HOLD_OUT_EVERY, evaluate, split
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

NLU = PROJECT_DIR / "dialogues" / "nlu.yml"
MIN_EXAMPLES = 15


def test_split_holds_out_every_fifth_example_of_every_intent():
    data = TrainingData.load(NLU)
    train, held_out = split(data)
    assert len(train) + len(held_out) == len(data.examples)
    assert {intent for intent, _ in held_out} == set(data.intents())
    assert not {e.text for _, e in train} & {e.text for _, e in held_out}
    for intent in data.intents():
        total = sum(1 for i, _ in data.examples if i == intent)
        assert sum(1 for i, _ in held_out if i == intent) == total // HOLD_OUT_EVERY


def test_every_intent_has_enough_varied_examples():
    data = TrainingData.load(NLU)
    for intent in data.intents():
        examples = [(e.text.lower(), e.entities) for i, e in data.examples if i == intent]
        assert len(examples) >= MIN_EXAMPLES, intent
        assert len(set(examples)) == len(examples), f"{intent} repeats an example"


# Every fifth example held out of nlu.yml. Since the training data was rewritten in the
# register people really use (issue 9) this is a harder test than it was, and the real
# measure is tests/nlu_realistic.yml (tests/test_nlu_realistic.py); this guards what has
# been reached here, where the unsure answers (the "did you mean" step) count as wrong.
HELD_OUT_REACHED = 0.78


def test_held_out_accuracy_stays_within_what_has_been_reached():
    config = load_config(PROJECT_DIR / "config.yml")
    result = evaluate(config.pipeline_specs(), TrainingData.load(NLU))
    assert result.total > 100
    assert result.accuracy >= HELD_OUT_REACHED, result.report()


def test_evaluate_command_prints_a_confusion_report(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "evaluate", "--data-dir", str(tmp_path)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "precision" in run.stdout
    assert "recall" in run.stdout
    assert "accuracy:" in run.stdout
    assert "Traceback" not in run.stderr
