"""The JSONL channel: one JSON object in per line, exactly one JSON array out per line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.channels.jsonl import run_jsonl
from bot.settings import PROJECT_DIR

CLI = Path(sys.executable).with_name("mutual-aid-bot")


def line(sender: Any, message: Any) -> str:
    return json.dumps({"sender": sender, "message": message})


def check_shape(output: list[Any], sender: str | None) -> None:
    """Rasa REST channel shape, or the error shape."""
    assert isinstance(output, list)
    assert output, "every answered line has at least one message or an error"
    for item in output:
        assert isinstance(item, dict)
        if "error" in item:
            assert set(item) == {"recipient_id", "error"}
            assert isinstance(item["error"], str)
            assert item["error"]
            continue
        assert item["recipient_id"] == sender
        assert set(item) <= {"recipient_id", "text", "buttons"}
        assert isinstance(item["text"], str)
        assert item["text"]
        for button in item.get("buttons", []):
            assert set(button) in ({"title", "payload"}, {"title", "url"})
            assert all(isinstance(v, str) and v for v in button.values())


def all_payloads(output: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for m in output for b in m.get("buttons", []) if "payload" in b]


def all_text(output: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in output)


async def run_lines(engine, lines: list[str]) -> tuple[int, list[list[dict[str, Any]]]]:
    out = io.StringIO()
    answered = await run_jsonl(engine, lines, out)
    return answered, [json.loads(text) for text in out.getvalue().splitlines()]


BAD_LINES = {
    "not json": "this is not json",
    "truncated json": '{"sender": "x", "message": "hi"',
    "json array": '[{"sender": "x", "message": "hi"}]',
    "json string": '"hello"',
    "json null": "null",
    "missing sender": json.dumps({"message": "hi"}),
    "missing message": json.dumps({"sender": "planner"}),
    "message not a string": json.dumps({"sender": "planner", "message": 42}),
    "message is an object": json.dumps({"sender": "planner", "message": {"text": "hi"}}),
    "sender not a string": json.dumps({"sender": 7, "message": "hi"}),
    "sender empty": line("", "hi"),
    "huge message": line("planner", "a" * 200_000),
    "huge sender": line("s" * 1000, "hi"),
    "deeply nested": "[" * 50_000,
    "number too long": '{"sender": "x", "message": ' + "9" * 5000 + "}",
    "lone surrogate in sender": '{"sender": "x\\ud800", "message": "hi"}',
    "lone surrogate in message": '{"sender": "planner", "message": "hi \\udc00"}',
}


@pytest.mark.parametrize("bad", BAD_LINES.values(), ids=BAD_LINES.keys())
async def test_each_bad_line_gets_an_error_and_the_stream_goes_on(engine, bad):
    answered, outputs = await run_lines(engine, [bad, line("after", "/start")])
    assert answered == 2
    assert len(outputs) == 2
    error, reply = outputs
    assert len(error) == 1
    check_shape(error, None)
    assert "error" in error[0]
    assert error[0]["recipient_id"] in (None, "", "x", "planner", "s" * 1000)
    check_shape(reply, "after")
    assert "/list_options" in all_payloads(reply)


async def test_error_names_the_sender_and_the_field(engine):
    _, outputs = await run_lines(
        engine, [json.dumps({"sender": "planner", "message": 42}), line("", "hi")]
    )
    assert outputs[0] == [{"recipient_id": "planner", "error": outputs[0][0]["error"]}]
    assert "message" in outputs[0][0]["error"]
    assert outputs[1][0]["recipient_id"] == ""
    assert "sender" in outputs[1][0]["error"]


async def test_many_senders_interleaved_with_bad_lines(engine):
    senders = [f"person-{n}" for n in range(8)]
    script = ["/start", "/list_options", "what is mutual aid", "thanks"]
    lines: list[str] = []
    expected: list[str | None] = []

    def add(sender: str | None, text: str) -> None:
        lines.append(text)
        expected.append(sender)

    # The planner starts a form, bad lines arrive (some in its name), then it finishes.
    add("planner", line("planner", "/start"))
    add("planner", line("planner", "/plan_meeting"))
    for step, text in enumerate(script):
        for sender in senders:
            add(sender, line(sender, text))
        lines.append("")  # blank lines are skipped, not answered
        lines.append("   \t ")
        bad = list(BAD_LINES.values())[step::4]
        for text in bad:
            add(None, text)
    add("planner", line("planner", '/inform{"option": "aa"}'))
    add("planner", line("planner", '/inform{"plan_format": "in_person"}'))
    add("planner", line("planner", '/inform{"plan_when": "this_week"}'))

    answered, outputs = await run_lines(engine, lines)
    assert answered == len(expected) == len(outputs)
    for sender, output in zip(expected, outputs, strict=True):
        if sender is None:
            assert len(output) == 1
            assert "error" in output[0]
        else:
            check_shape(output, sender)
            assert all("error" not in item for item in output)

    def outputs_for(sender: str) -> list[list[dict[str, Any]]]:
        return [o for s, o in zip(expected, outputs, strict=True) if s == sender]

    for sender in senders:
        start, listed, mutual_aid, thanks = outputs_for(sender)
        assert "not a person" in all_text(start)
        assert '/option_details{"option": "aa"}' in all_payloads(listed)
        assert "Mutual aid means" in all_text(mutual_aid)
        assert "/goodbye" in all_payloads(thanks)
    planner = outputs_for("planner")
    assert "Which group" in all_text(planner[1])
    assert "online or in person" in all_text(planner[2])
    assert "When might you go" in all_text(planner[3])
    summary = planner[4]
    assert "Alcoholics Anonymous" in all_text(summary)
    assert any("url" in b for m in summary for b in m.get("buttons", []))
    # Each chat got its own order of options, but the same set of them.
    lists = {tuple(all_payloads(outputs_for(s)[1])) for s in senders}
    assert len({frozenset(order) for order in lists}) == 1


async def test_returns_the_number_of_lines_answered(engine):
    answered, outputs = await run_lines(engine, ["", "\n", line("a", "/start"), "  \n"])
    assert answered == 1
    assert len(outputs) == 1


def cli_env(models_dir: Path) -> dict[str, str]:
    """The environment for a CLI subprocess: no stray settings, the shared model cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    return env


def chat_jsonl(data_dir: Path, models_dir: Path, text: str | bytes) -> subprocess.CompletedProcess:
    data = text.encode() if isinstance(text, str) else text
    return subprocess.run(
        [str(CLI), "chat", "--jsonl", "--data-dir", str(data_dir)],
        input=data,
        capture_output=True,
        env=cli_env(models_dir),
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_cli_jsonl_answers_every_line_and_keeps_state_across_runs(tmp_path, models_dir):
    data_dir = tmp_path / "data"
    first = "\n".join(
        [
            line("web-1", "/start"),
            "not json",
            line("web-2", "/list_options"),
            "",
            line("web-1", "/plan_meeting"),
        ]
    )
    done = chat_jsonl(data_dir, models_dir, first + "\n")
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    outputs = [json.loads(text) for text in done.stdout.decode().splitlines()]
    assert len(outputs) == 4
    check_shape(outputs[0], "web-1")
    assert outputs[1][0]["recipient_id"] is None
    assert "not valid JSON" in outputs[1][0]["error"]
    check_shape(outputs[2], "web-2")
    assert "Which group" in all_text(outputs[3])
    assert (data_dir / "bot.db").exists()

    # A new process picks the form up where the last one left it.
    second = line("web-1", '/inform{"option": "na"}') + "\n"
    done = chat_jsonl(data_dir, models_dir, second)
    assert done.returncode == 0, done.stderr.decode()
    outputs = [json.loads(text) for text in done.stdout.decode().splitlines()]
    assert len(outputs) == 1
    check_shape(outputs[0], "web-1")
    assert "online or in person" in all_text(outputs[0])


@pytest.mark.slow
def test_cli_jsonl_survives_bytes_that_are_not_utf8(tmp_path, models_dir):
    stdin = (
        b'\xff\xfe{"sender": "a", "message": "hi"}\n'
        b'{"sender": "b\\ud800", "message": "hi"}\n'
        b'{"sender": "caf\xc3\xa9", "message": "/start"}\n'
    )
    done = chat_jsonl(tmp_path / "data", models_dir, stdin)
    assert done.returncode == 0, done.stderr.decode()
    outputs = [json.loads(text) for text in done.stdout.decode("utf-8").splitlines()]
    assert len(outputs) == 3
    assert "error" in outputs[0][0]
    assert "error" in outputs[1][0]
    check_shape(outputs[2], "café")


async def test_a_crisis_at_the_end_of_a_very_long_line_is_answered(engine):
    from bot.channels.jsonl import answer_line

    long = "we had a chat about the weekend and the weather and the match. " * 150
    line = json.dumps({"sender": "long", "message": long + "i want to kill myself tonight"})
    result = await answer_line(engine, line)
    assert "999" in result[0]["text"]


@pytest.mark.parametrize(
    "typed", ["\u200b/forget", "\ufeff/forget", "/\u200dforget", "\uff0fforget", " /forget\u200e"]
)
async def test_forget_with_invisible_or_look_alike_characters_still_erases(engine, typed):
    await run_lines(engine, [line("erasable", "hello")])
    conversation = engine.conversation_id("jsonl", "erasable")
    assert engine.store.load(conversation) is not None
    _, output = await run_lines(engine, [line("erasable", typed)])
    assert engine.store.load(conversation) is None, typed
    assert "deleted" in all_text(output[0]).lower() or "forgot" in all_text(output[0]).lower()


async def test_senders_that_differ_only_in_bad_bytes_never_merge(engine):
    # As the CLI reads stdin: bytes that are not UTF-8 become surrogate escapes.
    raw = [b'{"sender": "a\xff", "message": "hi"}', b'{"sender": "a\xfe", "message": "hi"}']
    lines = [chunk.decode("utf-8", errors="surrogateescape") for chunk in raw]
    assert lines[0] != lines[1]
    before = engine.store.count()
    _, outputs = await run_lines(engine, lines)
    for output in outputs:
        assert output[0]["error"].startswith("sender:")
    assert engine.store.count() == before
