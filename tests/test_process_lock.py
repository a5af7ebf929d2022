"""One process answering chats per database (bot/store/process_lock.py): a second is refused
with a clear message, engines in one process share the lock, and kill -9 frees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store import TrackerStore, process_lock
from bot.store.process_lock import DatabaseInUse
from tests.test_cli import CLI

HOLD = (
    "import sys, time; from pathlib import Path; from bot.store import process_lock;"
    "process_lock.hold(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
)


def _holder(db: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def _stop(process: subprocess.Popen[str], how: int = signal.SIGKILL) -> None:
    os.kill(process.pid, how)
    process.wait()
    if process.stdout:
        process.stdout.close()


def test_engines_in_one_process_share_the_lock(tmp_path: Path):
    db = tmp_path / "bot.db"
    first = TrackerStore(db, exclusive=True)
    second = TrackerStore(db, exclusive=True)
    first.close()
    second.close()
    # Released by the last: another process may now take it.
    _stop(_holder(db))


def test_a_second_process_is_refused_clearly(tmp_path: Path):
    db = tmp_path / "bot.db"
    process = _holder(db)
    try:
        with pytest.raises(DatabaseInUse, match="another mutual-aid-bot process"):
            TrackerStore(db, exclusive=True)
        # Reading and adding rows without the lock still works (link, staff invite).
        TrackerStore(db).close()
    finally:
        _stop(process)


def test_kill_minus_9_frees_the_lock(tmp_path: Path):
    db = tmp_path / "bot.db"
    _stop(_holder(db))
    assert (tmp_path / "bot.db.lock").exists()  # a stale file never blocks a restart
    store = TrackerStore(db, exclusive=True)
    store.close()


def test_release_without_hold_is_harmless(tmp_path: Path):
    process_lock.release(tmp_path / "nothing.db")


@pytest.mark.slow
def test_a_second_bot_on_the_same_database_exits_with_a_clear_error(
    tmp_path: Path, models_dir: Path
):
    db = tmp_path / "bot.db"
    process = _holder(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [str(CLI), "--data-dir", str(tmp_path), "--db", str(db), "chat", "--jsonl"],
            input=json.dumps({"sender": "a", "message": "hi"}) + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        _stop(process)
    assert done.returncode == 2
    assert "another mutual-aid-bot process" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 120
