"""`mutual-aid-bot evaluate --test-file` and `mutual-aid-bot parse` (bot/nlu_eval.py, bot/cli.py).

Scores are counted from a real model on a small test file, the report files are real files,
and bad input (a missing file, a broken file, bad JSON lines) gets a clear answer.
"""

from __future__ import annotations

import io
import json
import sys

import pytest

from bot.cli import main
from bot.nlu.pipeline import NluPipeline
from bot.nlu_eval import NluReport, Prediction, evaluate_file, outcome
from bot.settings import PROJECT_DIR
from bot.training_data import NluFile, TrainingData

SMALL_TEST = """version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hiya mate
      - good morning to you
  - intent: cost
    examples: |
      - is [smart](option:smart_recovery) free or do u pay
  - intent: out_of_scope
    examples: |
      - whats the weather like in leeds
"""


def prediction(intent: str, predicted: str) -> Prediction:
    return Prediction(text="x", intent=intent, predicted=predicted, confidence=0.9)


def test_outcomes_right_clarify_and_misroute():
    assert outcome("cost", "cost") == "right"
    assert outcome("cost", "nlu_fallback") == "clarify"
    assert outcome("cost", "how_to_try") == "misroute"
    # Out of scope sent to the clarify step is right: the bot says what it can do either way.
    assert outcome("out_of_scope", "nlu_fallback") == "right"


def test_rates_add_up():
    report = NluReport(
        [
            prediction("cost", "cost"),
            prediction("cost", "nlu_fallback"),
            prediction("greet", "thanks"),
            prediction("greet", "greet"),
        ]
    )
    assert report.accuracy == 0.5
    assert report.clarify_rate == 0.25
    assert report.misroute_rate == 0.25
    assert report.confusions()[0][2] == 1
    assert "accuracy: 0.500" in report.summary()


def test_an_empty_report_has_zero_rates():
    report = NluReport()
    assert (report.accuracy, report.misroute_rate, report.clarify_rate) == (0.0, 0.0, 0.0)


def test_entity_scores_compare_values():
    report = NluReport(
        [
            Prediction(
                text="x",
                intent="cost",
                predicted="cost",
                confidence=1.0,
                entities=[{"entity": "option", "value": "aa"}],
                expected_entities=[{"entity": "option", "value": "AA"}],
            ),
            Prediction(
                text="y",
                intent="cost",
                predicted="cost",
                confidence=1.0,
                entities=[{"entity": "option", "value": "na"}],
                expected_entities=[{"entity": "option", "value": "ca"}],
            ),
        ]
    )
    scores = report.entity_scores()["option"]
    assert scores["precision"] == 0.5
    assert scores["recall"] == 0.5


@pytest.fixture(scope="module")
def trained(models_dir):
    from bot.engine.config import load_config
    from bot.nlu.pipeline import load_or_train

    nlu = PROJECT_DIR / "dialogues" / "nlu.yml"
    config = load_config(PROJECT_DIR / "config.yml")
    model, _ = load_or_train(config.pipeline_specs(), nlu, TrainingData.load(nlu), models_dir)
    return model


def small_test() -> TrainingData:
    import yaml

    return TrainingData(NluFile.model_validate(yaml.safe_load(SMALL_TEST)))


def test_evaluate_file_parses_every_message(trained: NluPipeline, tmp_path):
    report = evaluate_file(trained, small_test())
    assert report.total == 4
    assert {p.intent for p in report.predictions} == {"greet", "cost", "out_of_scope"}
    cost = next(p for p in report.predictions if p.intent == "cost")
    assert cost.expected_entities == [{"entity": "option", "value": "smart_recovery"}]
    written = report.write(tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["total"] == 4
    assert set(data) >= {"accuracy", "misroute_rate", "clarify_rate", "intents", "confusions"}
    assert "greet" in data["intents"]
    png = (tmp_path / "out" / "confusion.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(written) == 2


def test_evaluate_command_writes_the_report(tmp_path, capsys, models_dir):
    test_file = tmp_path / "small.yml"
    test_file.write_text(SMALL_TEST)
    out = tmp_path / "report"
    args = ["evaluate", "--test-file", str(test_file), "--out", str(out)]
    assert main([*args, "--data-dir", str(tmp_path / "data")]) == 0
    printed = capsys.readouterr().out
    assert "precision" in printed
    assert "misroutes:" in printed
    assert (out / "report.json").is_file()
    assert (out / "confusion.png").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no NLU test file"),
        ("nlu: [", "not valid YAML"),
        ('version: "3.1"\nnlu:\n  - intent: greet\n    examples: "- a\\nb"\n', "- "),
        ('version: "3.1"\nnlu: []\n', "no intent examples"),
    ],
)
def test_evaluate_command_bad_test_files(tmp_path, capsys, content, message):
    test_file = tmp_path / "bad.yml"
    if content is not None:
        test_file.write_text(content)
    code = main(["evaluate", "--test-file", str(test_file), "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_parse_command_answers_like_rasa(tmp_path, capsys, monkeypatch, models_dir):
    lines = "\n".join(
        [
            json.dumps({"text": "is smart recovery free"}),
            "what groups are there",
            "",
            json.dumps({"words": "no text key"}),
            "{not json",
            json.dumps({"text": 42}),
        ]
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines + "\n"))
    assert main(["parse", "--data-dir", str(tmp_path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == 5
    first = out[0]
    assert first["text"] == "is smart recovery free"
    assert set(first) == {"text", "intent", "intent_ranking", "entities"}
    assert set(first["intent"]) == {"name", "confidence"}
    assert any(e["entity"] == "option" for e in first["entities"])
    assert out[1]["intent"]["name"]
    for bad in out[2:]:
        assert "line" in bad.get("error", "")
