"""The `mutual-aid-bot` command: chat, run, validate, evaluate, parse, links, sites, staff."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import re
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import PROJECT_DIR, Settings
from bot.yamlfiles import ContentError

if TYPE_CHECKING:
    from bot.knowledge import Site

# `parse` reads one message per line; like the engine, only this much goes to the NLU.
MAX_PARSE_CHARS = 1000


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


def _webhook_secret(args: argparse.Namespace, settings: Settings) -> str | None:
    """The webhook secret: --secret-token-file, TELEGRAM_WEBHOOK_SECRET, or --secret-token.

    A file or the environment keeps it out of `ps`; the command-line option still works.
    """
    if args.secret_token_file:
        return Path(args.secret_token_file).read_text(encoding="utf-8").strip()
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret.get_secret_value().strip()
    return args.secret_token


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot: long polling, or a webhook behind HTTPS."""
    import signal

    from telegram.error import InvalidToken, NetworkError

    from bot.channels.telegram import TelegramChannel, run_polling, serve_webhook, webhook_secret
    from bot.redact import install as install_redactor

    settings = _settings(args)
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    if not token.strip():
        print(
            "error: no Telegram token. Create a bot with @BotFather and set "
            "TELEGRAM_BOT_TOKEN in the environment (see README, Connect to Telegram).",
            file=sys.stderr,
        )
        return 2
    try:
        chosen_secret = _webhook_secret(args, settings)
    except OSError as error:
        print(f"error: cannot read the webhook secret file: {error.strerror}", file=sys.stderr)
        return 2
    # No library may write the token (or the webhook secret) to any output.
    install_redactor([token, chosen_secret or ""])
    base_url = args.base_url or settings.telegram_base_url
    channel = TelegramChannel(_engine(settings))
    app = channel.build(token.strip(), base_url=base_url)
    try:
        if args.webhook:
            if not args.webhook.startswith("https://") and not args.allow_http:
                print("error: the webhook URL must start with https://", file=sys.stderr)
                return 2
            stop = asyncio.Event()

            async def serve() -> None:
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, stop.set)
                secret = chosen_secret or webhook_secret()
                await serve_webhook(
                    channel, app, args.webhook, args.listen, args.port, secret, stop
                )

            if chosen_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", chosen_secret):
                print(
                    "error: the webhook secret must be 1-256 of A-Z a-z 0-9 _ -", file=sys.stderr
                )
                return 2
            asyncio.run(serve())
        else:
            run_polling(app)
    except InvalidToken:
        print("error: Telegram rejected the token. Check TELEGRAM_BOT_TOKEN.", file=sys.stderr)
        return 2
    except NetworkError as error:
        print(
            f"error: cannot reach the Telegram Bot API ({type(error).__name__}).", file=sys.stderr
        )
        return 2
    return 0


def _web_config(settings: Settings):
    from bot.channels.web import WebConfig

    return WebConfig(
        allowed_origins=tuple(settings.web_allowed_origins),
        frame_ancestors=tuple(settings.web_frame_ancestors),
        rate_per_sender=settings.web_rate_per_sender,
        rate_per_address=settings.web_rate_per_address,
        behind_proxy=settings.web_behind_proxy,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web chat page and the REST channel (and the Telegram webhook, if asked)."""
    import contextlib
    import signal

    import tornado.ioloop

    from bot.channels.web import REST_PATH, build_app, start_server

    settings = _settings(args)
    telegram = None
    if args.telegram_webhook:
        from bot.channels.telegram import (
            TelegramChannel,
            webhook_route,
            webhook_running,
            webhook_secret,
        )
        from bot.redact import install as install_redactor

        if not args.telegram_webhook.startswith("https://") and not args.allow_http:
            print("error: the webhook URL must start with https://", file=sys.stderr)
            return 2
        token = (
            settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
        )
        if not token:
            print(
                "error: --telegram-webhook needs TELEGRAM_BOT_TOKEN in the environment "
                "(see README, Connect to Telegram).",
                file=sys.stderr,
            )
            return 2
        try:
            secret = _webhook_secret(args, settings) or webhook_secret()
        except OSError as error:
            print(f"error: cannot read the webhook secret file: {error.strerror}", file=sys.stderr)
            return 2
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            print("error: the webhook secret must be 1-256 of A-Z a-z 0-9 _ -", file=sys.stderr)
            return 2
        install_redactor([token, secret])
    engine = _engine(settings)
    extra = []
    if args.telegram_webhook:
        channel = TelegramChannel(engine)
        ptb_app = channel.build(token, base_url=args.base_url or settings.telegram_base_url)
        extra.append(webhook_route(ptb_app, secret))
        telegram = webhook_running(channel, ptb_app, args.telegram_webhook, secret)
    config = _web_config(settings)
    app = build_app(engine, config, extra)

    async def serve() -> int:
        # The server must be started inside the running loop, which tornado then uses.
        try:
            server, port = start_server(app, args.host, args.port, config.behind_proxy)
        except OSError as error:
            print(
                f"error: cannot listen on {args.host}:{args.port}: {error.strerror}",
                file=sys.stderr,
            )
            return 2
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        daily = tornado.ioloop.PeriodicCallback(engine.housekeeping, 24 * 3600 * 1000)
        daily.start()
        shown_host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Web chat: http://{shown_host}:{port}/", flush=True)
        print(f"REST channel: POST http://{shown_host}:{port}{REST_PATH}", flush=True)
        try:
            async with telegram or contextlib.nullcontext():
                if telegram is not None:
                    print("Telegram webhook: registered", flush=True)
                await stop.wait()
        finally:
            daily.stop()
            server.stop()
        return 0

    return asyncio.run(serve())


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


def _port(text: str) -> int:
    """argparse type for --port: 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _duration(text: str) -> timedelta:
    """argparse type for --expires: 30d, 12h, 90m, 2w."""
    from bot.links import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _find_site(sites: list[Site], site_id: str, path: Path) -> Site | None:
    """The site with this id, or None after printing which ids the sites file has."""
    for site in sites:
        if site.id == site_id:
            return site
    known = ", ".join(site.id for site in sites) or "none"
    print(f"error: no site '{site_id}' in {path} (sites there: {known})", file=sys.stderr)
    return None


def _check_suffix(
    path: str | None, allowed: tuple[str, ...], what: str, force: bool = False
) -> str | None:
    """A message if an output file has the wrong suffix, its folder is missing, or it
    exists already (a printed poster is easy to overwrite by mistake; --force allows it)."""
    if path is None:
        return None
    target = Path(path)
    if target.suffix.lower() not in allowed:
        return f"{path}: {what} file must end in {' or '.join(allowed)}"
    if not target.parent.is_dir():
        return f"{path}: the folder {target.parent} does not exist"
    if target.exists() and not force:
        return f"{path} exists already; use --force to replace it"
    return None


def cmd_link(args: argparse.Namespace) -> int:
    """Print a signed deep link for a site, with a short code; optionally a QR or poster."""
    from bot.knowledge import load_sites
    from bot.links import LinkService
    from bot.poster import Poster, load_poster_words, write_qr
    from bot.pseudonym import load_or_create_secret
    from bot.store import TrackerStore

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    site = _find_site(sites, args.site_id, settings.sites_path)
    if site is None:
        return 2
    for problem in (
        _check_suffix(args.qr, (".png", ".svg"), "a QR code", args.force),
        _check_suffix(args.poster, (".svg", ".pdf"), "a poster", args.force),
    ):
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    words = None
    if args.poster:
        words = load_poster_words(settings.knowledge_dir / "poster.yml").for_kind(site.kind)
    key = load_or_create_secret(settings.secret_path)
    store = TrackerStore(settings.db_path)
    try:
        links = LinkService(
            store,
            key,
            sites,
            telegram_username=settings.telegram_username,
            web_chat_url=str(settings.web_chat_url) if settings.web_chat_url else None,
        )
        payload = links.make_payload(site.id, args.expires, single_use=args.single_use)
        info = links.verify(payload, consume=False)
        code = links.short_code(payload, site.id, info.expires_at)
    finally:
        store.close()
    url, web_url = links.deep_link(payload), links.web_link(payload)
    # QR codes and posters point to the web chat when one is configured: it works for
    # everyone, with or without Telegram.
    public = links.public_link(payload)
    if args.qr:
        write_qr(public, Path(args.qr))
    if args.poster and words is not None:
        Poster(words, public, code, links.chat_address(), site.name).write(Path(args.poster))
    if args.json:
        print(
            json.dumps(
                {
                    "payload": payload,
                    "url": url,
                    "web_url": web_url,
                    "code": code,
                    "site_id": site.id,
                    "expires_at": info.expires_at.isoformat(),
                    "single_use": info.single_use,
                }
            )
        )
        return 0
    print(f"Site: {site.name} ({site.id})")
    print(f"Telegram link: {url}")
    if web_url:
        print(f"Web chat link: {web_url}")
    print(f"Short code: {code}  (if the chat opens without the link, type this code in it)")
    print(f"Expires: {info.expires_at:%Y-%m-%d %H:%M} UTC")
    if info.single_use:
        print("Single use: the link works for one person, once.")
    if args.qr:
        print(f"QR code: {args.qr}")
    if args.poster:
        print(f"Poster: {args.poster}")
        if info.single_use:
            print(
                "note: a single-use link on a poster works for one person only.", file=sys.stderr
            )
    return 0


def cmd_sites_list(args: argparse.Namespace) -> int:
    """One line per site: id, kind, name and the referral form's host."""
    from bot.knowledge import load_sites

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    if not sites:
        print(f"No sites in {settings.sites_path}.")
        return 0
    rows = [("ID", "KIND", "NAME", "FORM HOST")] + [
        (site.id, site.kind, site.name, site.referral_form_url.host or "") for site in sites
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for site_id, kind, name, host in rows:
        print(f"{site_id:<{widths[0]}}  {kind:<{widths[1]}}  {name:<{widths[2]}}  {host}")
    return 0


def cmd_sites_check(args: argparse.Namespace) -> int:
    """Validate the sites file; the first problem names its file, line and field."""
    from bot.knowledge import load_sites

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    kinds = {"gp_practice": "GP practice", "probation": "probation office"}
    counts = ", ".join(
        f"{n} {label}{'s' if n != 1 else ''}"
        for kind, label in kinds.items()
        if (n := sum(site.kind == kind for site in sites))
    )
    summary = f" ({counts})" if counts else ""
    print(f"{settings.sites_path}: {len(sites)} site(s), all valid{summary}.")
    return 0


def cmd_staff_invite(args: argparse.Namespace) -> int:
    """Make a one-time enrolment code for a member of staff at a site."""
    from bot.knowledge import load_sites
    from bot.pseudonym import load_or_create_secret
    from bot.staff import StaffService
    from bot.store import TrackerStore

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    site = _find_site(sites, args.site_id, settings.sites_path)
    if site is None:
        return 2
    key = load_or_create_secret(settings.secret_path)
    store = TrackerStore(settings.db_path)
    try:
        code = StaffService(store, key, sites).invite(site.id, args.expires)
    finally:
        store.close()
    days = args.expires.total_seconds() / 86400
    lasts = f"{days:g} day(s)" if days >= 1 else f"{args.expires.total_seconds() / 3600:g} hour(s)"
    print(f"Staff code for {site.name} ({site.id}): {code}")
    print(f"To use it, the member of staff sends /staff {code} to the bot.")
    print(f"It works once and lasts {lasts}. It is stored only in a form that cannot be read")
    print("back, so it is shown this once: give it to them now.")
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
