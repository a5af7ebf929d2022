"""The `mutual-aid-bot` command: chat, validate and (later) run the channels."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sqlite3
import sys
from pathlib import Path

from bot.settings import Settings
from bot.yamlfiles import ContentError


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Path] = {}
    if args.db:
        overrides["db"] = Path(args.db)
    if args.sites:
        overrides["sites"] = Path(args.sites)
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


def _engine(settings: Settings):
    from bot.engine import Engine

    return Engine(settings)


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat in the terminal, or speak JSONL on stdin/stdout."""
    settings = _settings(args)
    engine = _engine(settings)
    if args.jsonl:
        from bot.channels.jsonl import run_jsonl

        # The JSONL contract is UTF-8 whatever the locale; bytes that are not UTF-8 become
        # U+FFFD, so such a line gets an error reply instead of ending the stream.
        for stream, errors in ((sys.stdin, "replace"), (sys.stdout, "strict")):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(encoding="utf-8", errors=errors)
        asyncio.run(run_jsonl(engine, sys.stdin, sys.stdout))
    else:
        from bot.channels.terminal import run_terminal

        asyncio.run(run_terminal(engine, sys.stdout))
    return 0


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


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Held-out NLU accuracy and a confusion report."""
    from bot.engine.config import load_config
    from bot.evaluate import evaluate
    from bot.training_data import TrainingData

    settings = _settings(args)
    config = load_config(settings.config_path)
    data = TrainingData.load(settings.dialogues_dir / "nlu.yml")
    result = evaluate(config.pipeline_specs(), data)
    print(result.report())
    if args.show_misses:
        for true, guess, text in result.misses:
            print(f"  miss: {true} -> {guess}: {text}")
    return 0


def _common_options(default: str | None) -> argparse.ArgumentParser:
    """--db, --sites and --data-dir, accepted before and after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=default, help="SQLite file (default: DATA_DIR/bot.db)")
    common.add_argument(
        "--sites", default=default, help="sites YAML file (default: the example sites)"
    )
    common.add_argument(
        "--data-dir",
        default=default,
        help="data folder (default: ~/.local/share/mutual-aid-bot)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="mutual-aid-bot",
        description="A neutral, private chat bot about addiction mutual-aid groups.",
        parents=[_common_options(None)],
    )
    # The subcommands take the same options, but must not reset the ones given before the
    # subcommand (argparse copies a subparser's defaults over the main parser's values).
    common = _common_options(argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", parents=[common], help="chat in the terminal")
    chat.add_argument("--jsonl", action="store_true", help="JSON lines on stdin and stdout")
    chat.set_defaults(func=cmd_chat)
    validate = sub.add_parser("validate", parents=[common], help="check all content files")
    validate.set_defaults(func=cmd_validate)
    evaluate = sub.add_parser("evaluate", parents=[common], help="held-out NLU accuracy")
    evaluate.add_argument("--show-misses", action="store_true", help="list wrong predictions")
    evaluate.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs at INFO, and Telegram URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # rasa-sdk warns about every form slot without a validate_ method; that is by design here.
    logging.getLogger("rasa_sdk").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ContentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, never a traceback, for any start-up fault
        from bot.nlu.components import ConfigError

        if isinstance(exc, sqlite3.Error):
            db = getattr(args, "db", None) or "the database"
            print(f"error: cannot use {db}: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, ConfigError | ValueError | OSError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
