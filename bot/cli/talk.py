"""Commands that talk to people: chat (terminal, JSONL), run (Telegram), serve (web)."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
from pathlib import Path

from bot.cli.common import _engine, _settings
from bot.settings import Settings


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat in the terminal, or speak JSONL on stdin/stdout."""
    settings = _settings(args)
    engine = _engine(settings)
    if args.jsonl:
        from bot.channels.jsonl import run_jsonl

        # The JSONL contract is UTF-8 whatever the locale. Bytes that are not UTF-8 are kept
        # apart (surrogate escapes, never one shared U+FFFD), so two senders that differ only
        # in such bytes never merge: such a line gets an error reply and the stream goes on.
        for stream, errors in ((sys.stdin, "surrogateescape"), (sys.stdout, "strict")):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(encoding="utf-8", errors=errors)
        asyncio.run(run_jsonl(engine, sys.stdin, sys.stdout))
    else:
        from bot.channels.terminal import run_terminal

        asyncio.run(run_terminal(engine, sys.stdout))
    if engine.storage_failures:
        print(
            f"error: the database at {settings.db_path} could not be used for "
            f"{engine.storage_failures} message(s); they were answered but not saved "
            "(see the log above for the cause)",
            file=sys.stderr,
        )
        return 1
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
