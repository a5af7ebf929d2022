"""The `mutual-aid-bot` command: chat, run, serve, validate, evaluate, parse, link, sites,
staff. The commands live in bot/cli/talk.py, content.py and sites.py; this module builds the
parser and turns any start-up fault into a clear message, never a traceback."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from bot.cli.common import _duration, _port
from bot.cli.content import cmd_evaluate, cmd_parse, cmd_validate
from bot.cli.sites import cmd_link, cmd_sites_check, cmd_sites_list, cmd_staff_invite
from bot.cli.talk import _webhook_secret, cmd_chat, cmd_run, cmd_serve
from bot.yamlfiles import ContentError

__all__ = ["_webhook_secret", "build_parser", "main"]


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
    common.add_argument(
        "--debug",
        action="store_true",
        default=False if default is None else default,
        help="on an error, show the full traceback instead of one line",
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
    run = sub.add_parser("run", parents=[common], help="run the Telegram bot")
    run.add_argument("--webhook", metavar="PUBLIC_URL", help="use a webhook at this HTTPS URL")
    run.add_argument("--listen", default="127.0.0.1", help="address for the webhook server")
    run.add_argument("--port", type=int, default=8443, help="port for the webhook server")
    run.add_argument(
        "--secret-token",
        help="webhook secret (shown by ps: prefer TELEGRAM_WEBHOOK_SECRET or "
        "--secret-token-file; default: a new random one each start)",
    )
    run.add_argument(
        "--secret-token-file", metavar="FILE", help="read the webhook secret from this file"
    )
    run.add_argument(
        "--base-url", help="Bot API base URL (default: Telegram's, or TELEGRAM_BASE_URL)"
    )
    run.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser(
        "serve", parents=[common], help="serve the web chat page and the REST channel"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (0: any)")
    serve.add_argument(
        "--telegram-webhook",
        metavar="PUBLIC_URL",
        help="also receive Telegram's updates here (this server's public HTTPS address)",
    )
    serve.add_argument(
        "--secret-token-file", metavar="FILE", help="read the webhook secret from this file"
    )
    serve.add_argument(
        "--base-url", help="Bot API base URL (default: Telegram's, or TELEGRAM_BASE_URL)"
    )
    serve.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve, secret_token=None)
    validate = sub.add_parser("validate", parents=[common], help="check all content files")
    validate.set_defaults(func=cmd_validate)
    evaluate = sub.add_parser("evaluate", parents=[common], help="held-out NLU accuracy")
    evaluate.add_argument("--show-misses", action="store_true", help="list wrong predictions")
    evaluate.add_argument(
        "--crisis",
        action="store_true",
        help="the safety net instead: recall and false alarms per crisis category",
    )
    evaluate.add_argument(
        "--test-file",
        metavar="FILE",
        help="a Rasa NLU test file (e.g. tests/nlu_realistic.yml); with --crisis, a "
        "held-out crisis file (default: tests/crisis_heldout.yml)",
    )
    evaluate.add_argument(
        "--out", metavar="DIR", help="with --test-file: write report.json and confusion.png"
    )
    evaluate.set_defaults(func=cmd_evaluate)
    parse = sub.add_parser(
        "parse",
        parents=[common],
        help="JSON lines in, Rasa /model/parse JSON out (like rasa shell nlu)",
    )
    parse.set_defaults(func=cmd_parse)

    link = sub.add_parser(
        "link", parents=[common], help="a signed chat link for a site, with a short code"
    )
    link.add_argument("site_id", metavar="SITE_ID", help="the site's id in the sites file")
    link.add_argument(
        "--expires",
        type=_duration,
        default="30d",
        help="how long the link works: 90m, 12h, 30d, 2w (default: 30d)",
    )
    link.add_argument("--single-use", action="store_true", help="the link works only once")
    link.add_argument("--json", action="store_true", help="print JSON instead of text")
    link.add_argument("--qr", metavar="FILE", help="write a QR code (.png or .svg)")
    link.add_argument("--poster", metavar="FILE", help="write an A4 poster (.svg or .pdf)")
    link.add_argument(
        "--force", action="store_true", help="replace a --qr or --poster file that exists"
    )
    link.set_defaults(func=cmd_link)

    sites = sub.add_parser("sites", parents=[common], help="list or check the sites file")
    sites_sub = sites.add_subparsers(dest="sites_command", required=True)
    sites_sub.add_parser(
        "list", parents=[common], help="id, kind, name and form host of each site"
    ).set_defaults(func=cmd_sites_list)
    sites_sub.add_parser("check", parents=[common], help="validate the sites file").set_defaults(
        func=cmd_sites_check
    )

    staff = sub.add_parser("staff", parents=[common], help="staff enrolment")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_sub.add_parser(
        "invite", parents=[common], help="a one-time code that links a staff chat to a site"
    )
    invite.add_argument("site_id", metavar="SITE_ID", help="the site's id in the sites file")
    invite.add_argument(
        "--expires",
        type=_duration,
        default="7d",
        help="how long the code works: 90m, 12h, 7d, 2w (default: 7d)",
    )
    invite.set_defaults(func=cmd_staff_invite)
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
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, never a traceback, for any start-up fault
        from bot.nlu.components import ConfigError

        if getattr(args, "debug", False):
            raise  # --debug: a bug behind a one-line message is never hidden

        if isinstance(exc, sqlite3.Error):
            db = getattr(args, "db", None) or "the database"
            print(f"error: cannot use {db}: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, ConfigError | ValueError | OSError):
            print(f"error: {exc} (--debug shows where it came from)", file=sys.stderr)
            return 2
        raise
