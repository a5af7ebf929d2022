"""The terminal channel: numbered buttons, typed numbers, and a real chat in a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.channels.terminal import render, resolve, run_terminal
from bot.engine import BotReply
from bot.settings import PROJECT_DIR

CLI = Path(sys.executable).with_name("mutual-aid-bot")

REPLIES = [
    BotReply(
        text="First message.\n\nSecond paragraph.",
        buttons=[
            {"title": "Groups", "payload": "/list_options"},
            {"title": "Find a meeting", "url": "https://example.org/meetings"},
        ],
    ),
    BotReply(
        text="Which one?",
        buttons=[
            {"title": "AA", "payload": '/option_details{"option": "aa"}'},
            {"title": "Help now", "payload": "/get_help"},
        ],
    ),
]


def test_render_numbers_payload_buttons_across_messages_and_shows_links():
    text, payloads = render(REPLIES)
    assert payloads == ["/list_options", '/option_details{"option": "aa"}', "/get_help"]
    lines = text.splitlines()
    assert "  [1] Groups" in lines
    assert "  [2] AA" in lines
    assert "  [3] Help now" in lines
    assert "  [link] Find a meeting: https://example.org/meetings" in lines
    assert lines.index("First message.") < lines.index("Second paragraph.")
    assert lines.index("  [1] Groups") < lines.index("Which one?") < lines.index("  [2] AA")
    assert "/option_details" not in text  # payloads are pressed by number, never shown


def test_render_wraps_long_text():
    long = BotReply(text=" ".join(["word"] * 60))
    text, payloads = render([long], width=40)
    assert payloads == []
    assert all(len(row) <= 40 for row in text.splitlines())
    assert text.count("word") == 60


def test_resolve_maps_numbers_to_payloads():
    _, payloads = render(REPLIES)
    assert resolve("1", payloads) == "/list_options"
    assert resolve(" 2 ", payloads) == '/option_details{"option": "aa"}'
    assert resolve("3", payloads) == "/get_help"


@pytest.mark.parametrize(
    "typed", ["0", "4", "99", "-1", "1.5", "one", "1 please", "", "²", "1²", "9" * 5000]
)
def test_resolve_sends_anything_else_as_typed(typed):
    _, payloads = render(REPLIES)
    assert resolve(typed, payloads) == typed


def test_resolve_without_buttons_sends_numbers_as_text():
    assert resolve("1", []) == "1"


async def test_run_terminal_presses_buttons_by_number(engine, monkeypatch):
    typed = iter(["1", "1", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    out = io.StringIO()
    await run_terminal(engine, out, chat_id="local-user")
    shown = out.getvalue()
    assert shown.index("not a person") < shown.index("Alcoholics Anonymous")
    # The second "1" pressed the first group in this chat's list: its card has a cost line.
    assert "Cost:" in shown
    assert shown.rstrip().endswith("Goodbye.")


async def test_run_terminal_ends_kindly_at_end_of_input(engine, monkeypatch):
    def no_more_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_more_input)
    out = io.StringIO()
    await run_terminal(engine, out, chat_id="local-user")
    assert "not a person" in out.getvalue()
    assert out.getvalue().rstrip().endswith("Goodbye.")


def chat(tmp_path: Path, models_dir: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    return subprocess.run(
        [str(CLI), "chat", "--data-dir", str(tmp_path / "data")],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_cli_chat_shows_welcome_then_the_options(tmp_path, models_dir):
    done = chat(tmp_path, models_dir, "1\n/quit\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "Type /quit to leave" in out
    assert "[1] What groups are there?" in out
    welcome = out.index("not a person")
    options = out.index("There are several kinds of group")
    assert welcome < options
    assert "Alcoholics Anonymous" in out[options:]
    assert "[1] " in out[options:]  # the options are numbered buttons too
    assert out.rstrip().endswith("Goodbye.")


@pytest.mark.slow
def test_cli_chat_ends_kindly_at_end_of_input(tmp_path, models_dir):
    done = chat(tmp_path, models_dir, "")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "not a person" in done.stdout
    assert done.stdout.rstrip().endswith("Goodbye.")
