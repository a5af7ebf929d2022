"""`mutual-aid-bot serve`: it starts, answers on loopback, stops cleanly on SIGTERM, and every
bad option or setting is a clear error without a traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.test_cli import CLI, assert_clean_failure, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_a_bad_port_is_a_clear_error(models_dir: Path, port: str):
    done = run("serve", "--port", port, models_dir=models_dir)
    assert_clean_failure(done, "not a port number")


def test_the_telegram_webhook_needs_https_and_a_token(tmp_path: Path, models_dir: Path):
    data = ["--data-dir", str(tmp_path)]
    done = run(*data, "serve", "--telegram-webhook", "http://bot.example", models_dir=models_dir)
    assert_clean_failure(done, "https://")
    env = {"TELEGRAM_BOT_TOKEN": ""}
    done = run(
        *data, "serve", "--telegram-webhook", "https://bot.example", models_dir=models_dir, env=env
    )
    assert_clean_failure(done, "TELEGRAM_BOT_TOKEN")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("MUTUAL_AID_WEB_ALLOWED_ORIGINS", '["https://x.example/path"]', "not an origin"),
        ("MUTUAL_AID_WEB_ALLOWED_ORIGINS", "not json", "web_allowed_origins"),
        ("MUTUAL_AID_WEB_RATE_PER_SENDER", "0", "web_rate_per_sender"),
    ],
)
def test_bad_web_settings_are_clear_errors(
    tmp_path: Path, models_dir: Path, name: str, value: str, words: str
):
    done = run("--data-dir", tmp_path, "serve", models_dir=models_dir, env={name: value})
    assert_clean_failure(done, words)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path, models_dir: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("--data-dir", tmp_path, "serve", "--port", str(port), models_dir=models_dir)
    assert_clean_failure(done, "cannot listen on")


def test_serve_answers_on_loopback_and_stops_on_sigterm(tmp_path: Path, models_dir: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    process = subprocess.Popen(
        [str(CLI), "--data-dir", str(tmp_path), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first + (process.stderr.read() if process.poll() is not None else "")
        base = f"http://127.0.0.1:{match.group(1)}"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert json.load(response) == {"status": "ok"}
        request = urllib.request.Request(
            base + "/webhooks/rest/webhook",
            data=json.dumps({"sender": "cli-serve", "message": "hello"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)[0]["recipient_id"] == "cli-serve"
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in errors
