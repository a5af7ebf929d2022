"""Benchmark the engine: cold and warm start to the first reply, then whole turns.

Run with `make bench` (or `.venv/bin/python bench/bench_engine.py --senders 50`). Everything
runs in a temporary folder with the project's own content; nothing leaves the machine.

Measured:
- start to the first reply, in process (Engine() + "/start") and as a fresh
  `mutual-aid-bot chat --jsonl` process (imports included), each cold (no model cache, so
  the NLU model is trained) and warm (the cached model is loaded);
- whole turns through Engine.handle for many senders, interleaved as real chats are: turns
  per second and p50/p99 latency per turn, overall and by kind of message;
- peak memory (ru_maxrss) of this process and of the child processes;
- the safety net on the held-out crisis file (tests/crisis_heldout.yml): recall and false
  alarms against the targets (recall 99% or more, false alarms 3% or less), and the time
  one safety check takes (patterns and classifier), p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bot.app import build_engine  # noqa: E402
from bot.crisis_eval import evaluate_crisis, load_held_out  # noqa: E402
from bot.engine import BotReply, Engine  # noqa: E402
from bot.nlu_eval import evaluate_file  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.training_data import TrainingData  # noqa: E402

CHANNEL = "bench"
ERROR_TEXT = "something went wrong"

# Each step is typed text, or "press:N" (the Nth payload button the bot last offered).
PERSONAS: dict[str, list[str]] = {
    "browser": [
        "/start",
        "/list_options",
        "press:1",
        "what is mutual aid",
        "press:1",
        "press:2",
        "thanks",
        "bye",
    ],
    "planner": ["/start", "/plan_meeting", "press:2", "press:1", "press:2", "press:2", "thanks"],
    "typist": [
        "hi",
        "what groups are there",
        "tell me about smart recovery",
        "how do i find a meeting near me",
        "what is mutual aid exactly",
        "help",
        "start again",
    ],
    "lost": ["/start", "zzqx blorp", "qwerty asdf uiop", "press:1", "press:3", "/stop"],
    "crisis": ["/start", "i feel like i want to end it all", "/get_help", "press:1"],
    "linked": ["/start riverside", "/list_options", "press:3", "/forget", "hello"],
}


@dataclass
class Start:
    """One start-up measurement."""

    label: str
    seconds: float
    trained: bool | None
    note: str = ""


def kind_of(step: str) -> str:
    """The kind of message, for the per-kind latency table."""
    if step.startswith("press:"):
        return "button press"
    if step.startswith("/"):
        return "command"
    return "typed text"


def settings_for(data_dir: Path, models_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, models_dir=models_dir, content_dir=PROJECT_DIR)


async def start_in_process(label: str, data_dir: Path, models_dir: Path) -> tuple[Start, Engine]:
    """Engine() and the first reply, in this process."""
    started = time.perf_counter()
    engine = build_engine(settings_for(data_dir, models_dir))
    replies = await engine.handle(CHANNEL, "first", "/start")
    seconds = time.perf_counter() - started
    if not replies:
        raise SystemExit(f"{label}: no reply to /start")
    note = f"engine ready in {engine.start_seconds:.2f} s"
    return Start(label, seconds, engine.trained_now, note), engine


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("mutual-aid-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def start_process(label: str, data_dir: Path, models_dir: Path) -> Start:
    """A new `mutual-aid-bot chat --jsonl` process, until its first output line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    trained = not any(models_dir.glob("*")) if models_dir.exists() else True
    started = time.perf_counter()
    process = subprocess.Popen(
        [*cli_command(), "chat", "--jsonl", "--data-dir", str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_DIR,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps({"sender": "first", "message": "/start"}) + "\n")
    process.stdin.flush()
    first = process.stdout.readline()
    seconds = time.perf_counter() - started
    _, err = process.communicate(timeout=60)  # closes stdin: the chat ends at end of input
    reply = json.loads(first) if first else None
    if process.returncode != 0 or not reply or "error" in reply[0]:
        raise SystemExit(f"{label}: the chat process failed: {first!r} {err[-500:]}")
    note = "imports included" + (" (model trained)" if trained else " (model from cache)")
    return Start(label, seconds, trained, note)


@dataclass
class Chat:
    """One simulated person: their script and the buttons last offered to them."""

    sender: str
    persona: str
    steps: list[str]
    offered: list[str]
    position: int = 0


def next_text(chat: Chat) -> tuple[str, str]:
    step = chat.steps[chat.position]
    chat.position += 1
    if step.startswith("press:"):
        index = int(step.split(":")[1]) - 1
        if index < len(chat.offered):
            return chat.offered[index], kind_of(step)
        return "something else", "typed text"
    return step, kind_of(step)


def offered_payloads(replies: list[BotReply]) -> list[str]:
    return [b["payload"] for r in replies for b in r.buttons if "payload" in b]


async def run_turns(engine: Engine, senders: int) -> dict[str, object]:
    """Interleave every chat's script, one turn at a time, timing each handle()."""
    names = list(PERSONAS)
    chats = [
        Chat(f"sender-{n:04d}", names[n % len(names)], PERSONAS[names[n % len(names)]], [])
        for n in range(senders)
    ]
    latencies: list[float] = []
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    errors = plans = 0
    started = time.perf_counter()
    while True:
        active = [c for c in chats if c.position < len(c.steps)]
        if not active:
            break
        for chat in active:
            text, kind = next_text(chat)
            t0 = time.perf_counter()
            replies = await engine.handle(CHANNEL, chat.sender, text)
            elapsed = time.perf_counter() - t0
            latencies.append(elapsed)
            by_kind[kind].append(elapsed)
            if not replies or any(ERROR_TEXT in r.text for r in replies):
                errors += 1
            if any("url" in b for r in replies for b in r.buttons):
                plans += 1
            chat.offered = offered_payloads(replies) or chat.offered
    wall = time.perf_counter() - started
    return {
        "latencies": latencies,
        "by_kind": dict(by_kind),
        "wall": wall,
        "errors": errors,
        "plans": plans,
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def table(title: str, header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    """A plain-text table; the first text_columns and a last "notes" column are left-aligned."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]

    def left(i: int) -> bool:
        return i < text_columns or header[i] == "notes"

    def fmt(row: list[str]) -> str:
        cells = [
            str(cell).ljust(w) if left(i) else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * max(len(fmt(row)) for row in [header, *rows])
    return "\n".join([title, rule, fmt(header), rule, *map(fmt, rows), rule, ""])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


async def main() -> int:
    # rasa-sdk warns about every form slot without a validate_ method, as in bot/cli.py.
    logging.getLogger("rasa_sdk").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=200, help="chats to simulate")
    parser.add_argument(
        "--no-process", action="store_true", help="skip the start-up of a fresh chat process"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mutual-aid-bench-") as tmp:
        root = Path(tmp)
        models = root / "models"
        starts: list[Start] = []
        cold, _ = await start_in_process("in process, cold", root / "cold", models)
        starts.append(cold)
        warm, engine = await start_in_process("in process, warm", root / "warm", models)
        starts.append(warm)
        if not args.no_process:
            process_models = root / "process-models"
            starts.append(start_process("new process, cold", root / "p-cold", process_models))
            starts.append(start_process("new process, warm", root / "p-warm", process_models))
        cold.note += " (model trained)" if cold.trained else " (model NOT trained?)"
        warm.note += " (model from cache)" if not warm.trained else " (model retrained!)"

        result = await run_turns(engine, args.senders)
        crisis_rows = crisis_measures(engine)
        understanding_rows = understanding_measures(engine)
        engine.store.close()

    latencies: list[float] = result["latencies"]  # type: ignore[assignment]
    by_kind: dict[str, list[float]] = result["by_kind"]  # type: ignore[assignment]
    wall: float = result["wall"]  # type: ignore[assignment]
    errors: int = result["errors"]  # type: ignore[assignment]
    planners = sum(
        1 for n in range(args.senders) if list(PERSONAS)[n % len(PERSONAS)] == "planner"
    )
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print()
    print(
        table(
            "Start to the first reply",
            ["start", "seconds", "notes"],
            [[s.label, f"{s.seconds:.2f}", s.note] for s in starts],
        )
    )
    rows = [
        [
            "all turns",
            str(len(latencies)),
            ms(percentile(latencies, 50)),
            ms(percentile(latencies, 99)),
            ms(max(latencies)),
        ]
    ]
    for kind in sorted(by_kind):
        values = by_kind[kind]
        rows.append(
            [
                kind,
                str(len(values)),
                ms(percentile(values, 50)),
                ms(percentile(values, 99)),
                ms(max(values)),
            ]
        )
    personas = ", ".join(PERSONAS)
    print(
        table(
            f"Turns through Engine.handle: {args.senders} senders interleaved ({personas})",
            ["messages", "turns", "p50 ms", "p99 ms", "max ms"],
            rows,
        )
    )
    print(
        table(
            "Throughput and memory",
            ["measure", "value"],
            [
                ["turns per second", f"{len(latencies) / wall:.0f}"],
                ["wall time for all turns (s)", f"{wall:.2f}"],
                ["turns answered with an error", str(errors)],
                ["plans finished (meeting-finder link shown)", f"{result['plans']} of {planners}"],
                ["peak memory, this process (MB)", f"{self_rss:.0f}"],
                ["peak memory, largest child process (MB)", f"{child_rss:.0f}"],
            ],
        )
    )
    print(
        table(
            "Crisis safety net (held-out file, never trained on)",
            ["measure", "value"],
            crisis_rows,
        )
    )
    print(
        table(
            "Understanding (tests/nlu_realistic.yml, never trained on)",
            ["measure", "value"],
            understanding_rows,
        )
    )
    if errors:
        print(f"{errors} turn(s) were answered with the error message.", file=sys.stderr)
        return 1
    return 0


def crisis_measures(engine: Engine) -> list[list[str]]:
    """Recall and false alarms on the held-out file, and the time of one safety check."""
    held_out = load_held_out(
        PROJECT_DIR / "tests" / "crisis_heldout.yml",
        {category.id for category in engine.knowledge.crisis.categories},
    )
    evaluation = evaluate_crisis(engine.safety, held_out)
    messages = [text for texts in held_out.categories.values() for text in texts]
    timings = []
    for text in messages * 3:
        started = time.perf_counter()
        engine.safety.check(text)
        timings.append(time.perf_counter() - started)
    recall_ok = "meets" if evaluation.recall >= 0.99 else "BELOW"
    alarms_ok = "meets" if evaluation.false_alarm_rate <= 0.03 else "ABOVE"
    return [
        ["recall (target 99% or more)", f"{evaluation.recall:.1%} ({recall_ok} target)"],
        [
            "false alarms (target 3% or less)",
            f"{evaluation.false_alarm_rate:.1%} ({alarms_ok} target)",
        ],
        ["one safety check, p50 ms", ms(percentile(timings, 50))],
        ["one safety check, p99 ms", ms(percentile(timings, 99))],
    ]


def understanding_measures(engine: Engine) -> list[list[str]]:
    """Accuracy, misroutes and clarify rate on the realistic NLU test set, and parse time."""
    test = TrainingData.load(PROJECT_DIR / "tests" / "nlu_realistic.yml")
    report = evaluate_file(engine.nlu, test)
    timings = []
    for _, example in test.examples * 3:
        started = time.perf_counter()
        engine.nlu.parse(example.text)
        timings.append(time.perf_counter() - started)
    right_ok = "meets" if report.accuracy >= 0.92 else "BELOW"
    misroute_ok = "meets" if report.misroute_rate <= 0.03 else "ABOVE"
    return [
        ["messages", str(report.total)],
        ["right (target 92% or more)", f"{report.accuracy:.1%} ({right_ok} target)"],
        ["misroutes (target 3% or less)", f"{report.misroute_rate:.1%} ({misroute_ok} target)"],
        ["clarify (did you mean)", f"{report.clarify_rate:.1%}"],
        ["one NLU parse, p50 ms", ms(percentile(timings, 50))],
        ["one NLU parse, p99 ms", ms(percentile(timings, 99))],
    ]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
