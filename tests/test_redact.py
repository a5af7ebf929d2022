"""No secret reaches a log line, from any logger, in the message, its arguments or a traceback."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

from bot.redact import MASK, SecretRedactor
from tests.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHsecretSECRETsecretSECRETsecret00"


def _logged(action) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactor([TOKEN]))
    logger = logging.getLogger("some.library")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        action(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_the_token_is_masked_in_messages_and_arguments():
    out = _logged(lambda log: log.error("The token `%s` was rejected", TOKEN))
    out += _logged(lambda log: log.warning(f"GET https://api.telegram.org/bot{TOKEN}/getMe"))
    assert TOKEN not in out
    assert TOKEN.split(":")[1] not in out
    assert MASK in out


def test_the_token_is_masked_in_tracebacks():
    def fail(log: logging.Logger) -> None:
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            log.exception("it failed")

    out = _logged(fail)
    assert "ValueError" in out
    assert TOKEN not in out


def test_the_secret_half_alone_is_masked():
    out = _logged(lambda log: log.error("secret=%s", TOKEN.split(":")[1]))
    assert TOKEN.split(":")[1] not in out


def test_short_or_empty_secrets_mask_nothing():
    redactor = SecretRedactor(["", "  ", "abc"])
    assert redactor.redact("abc and more") == "abc and more"


def test_a_rejected_token_is_never_printed(tmp_path: Path, models_dir: Path):
    """`run` with a token the API rejects: a clear error, exit 2, and no token anywhere."""
    with FakeBotApi(token="1:right-token-right-token") as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MUTUAL_AID", "TELEGRAM"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=api.base_url,
            MUTUAL_AID_DATA_DIR=str(tmp_path / "data"),
            MUTUAL_AID_MODELS_DIR=str(models_dir),
        )
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "rejected the token" in output
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output
