"""Commands about content and understanding: validate, evaluate, parse."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.common import _settings
from bot.settings import PROJECT_DIR, Settings
from bot.yamlfiles import ContentError

# `parse` reads one message per line; like the engine, only this much goes to the NLU.
MAX_PARSE_CHARS = 1000


def cmd_validate(args: argparse.Namespace) -> int:
    """Check every content file; print problems and exit non-zero if there are any."""
    from bot.engine.actions import InProcessActions
    from bot.validation import validate_all

    settings = _settings(args)
    problems = validate_all(settings, InProcessActions().names())
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print("All content is valid.")
    return 0


def _trained_nlu(settings: Settings):
    """The NLU model the bot uses: from the model cache, or trained and cached now."""
    from bot.engine.config import load_config
    from bot.nlu.pipeline import load_or_train
    from bot.training_data import TrainingData

    config = load_config(settings.config_path)
    nlu_path = settings.dialogues_dir / "nlu.yml"
    model, _ = load_or_train(
        config.pipeline_specs(), nlu_path, TrainingData.load(nlu_path), settings.model_cache_dir
    )
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    """NLU accuracy: held out from nlu.yml, or on a test file; the safety net with --crisis."""
    from bot.engine.config import load_config
    from bot.evaluate import evaluate
    from bot.training_data import TrainingData

    settings = _settings(args)
    if args.crisis:
        return _evaluate_crisis(settings, args)
    if args.test_file:
        return _evaluate_test_file(settings, args)
    config = load_config(settings.config_path)
    data = TrainingData.load(settings.dialogues_dir / "nlu.yml")
    result = evaluate(config.pipeline_specs(), data)
    print(result.report())
    if args.show_misses:
        for true, guess, text in result.misses:
            print(f"  miss: {true} -> {guess}: {text}")
    return 0


def _evaluate_test_file(settings: Settings, args: argparse.Namespace) -> int:
    """Accuracy, misroutes and clarify rate on a Rasa NLU test file (like rasa test nlu)."""
    from bot.nlu_eval import evaluate_file
    from bot.training_data import TrainingData

    path = Path(args.test_file)
    if not path.is_file():
        print(f"error: no NLU test file at {path}", file=sys.stderr)
        return 2
    try:
        test = TrainingData.load(path)
    except (ContentError, ValueError) as exc:  # the file and line are in the message
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not test.examples:
        print(f"error: {path} has no intent examples to test", file=sys.stderr)
        return 2
    report = evaluate_file(_trained_nlu(settings), test)
    print(report.report(show_misses=args.show_misses))
    if args.out:
        try:
            written = report.write(Path(args.out))
        except OSError as exc:
            print(f"error: could not write the report to {args.out}: {exc}", file=sys.stderr)
            return 2
        for item in written:
            print(f"wrote {item}")
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    """JSON lines in ({"text": ...} or plain text), Rasa /model/parse JSON out, one per line."""
    settings = _settings(args)
    model = _trained_nlu(settings)
    for number, raw in enumerate(sys.stdin, start=1):
        line = raw.strip()
        if not line:
            continue
        text: object = line
        if line.startswith("{"):
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError):
                text = None
            if not isinstance(text, str):
                print(
                    json.dumps({"error": f'line {number}: expected {{"text": "..."}}'}),
                    flush=True,
                )
                continue
        print(json.dumps(model.parse(str(text)[:MAX_PARSE_CHARS]), ensure_ascii=False), flush=True)
    return 0


def _evaluate_crisis(settings: Settings, args: argparse.Namespace) -> int:
    """Recall and false alarms of the safety net on a held-out crisis file."""
    from bot.crisis_eval import evaluate_crisis, load_held_out
    from bot.knowledge import Knowledge
    from bot.safety import SafetyNet
    from bot.training_data import TrainingData

    path = Path(args.test_file) if args.test_file else PROJECT_DIR / "tests" / "crisis_heldout.yml"
    if not path.is_file():
        print(
            f"error: no held-out crisis file at {path} (give one with --test-file)",
            file=sys.stderr,
        )
        return 2
    knowledge = Knowledge(settings.knowledge_dir)
    labels = {category.id for category in knowledge.crisis.categories}
    try:
        held_out = load_held_out(path, labels)
    except (ContentError, ValueError) as exc:  # the file and line are in the message
        print(f"error: {exc}", file=sys.stderr)
        return 2
    net = SafetyNet.from_settings(
        settings, knowledge, TrainingData.load(settings.dialogues_dir / "nlu.yml")
    )
    result = evaluate_crisis(net, held_out)
    print(result.report(show_misses=args.show_misses))
    return 0
