"""The `mutual-aid-bot` command: help, errors without tracebacks, and where files go."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.settings import PROJECT_DIR

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("mutual-aid-bot")
ONE_LINE = json.dumps({"sender": "cli-test", "message": "/start"}) + "\n"


def run(
    *args: str | Path,
    models_dir: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    cwd: Path = PROJECT_DIR,
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    full_env["MUTUAL_AID_MODELS_DIR"] = str(models_dir)
    full_env |= env or {}
    return subprocess.run(
        [str(CLI), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_clean_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout
    for word in words:
        assert word in done.stderr


def test_help_lists_the_commands(models_dir):
    done = run("--help", models_dir=models_dir)
    assert done.returncode == 0
    assert "chat" in done.stdout
    assert "validate" in done.stdout
    assert "--db" in done.stdout
    chat_help = run("chat", "--help", models_dir=models_dir)
    assert chat_help.returncode == 0
    assert "--jsonl" in chat_help.stdout
    assert "--sites" in chat_help.stdout


def test_unknown_subcommand_fails_without_traceback(models_dir):
    done = run("frobnicate", models_dir=models_dir)
    assert_clean_failure(done, "invalid choice", "frobnicate")


def test_no_subcommand_fails_without_traceback(models_dir):
    assert_clean_failure(run(models_dir=models_dir), "usage")


def test_options_work_before_and_after_the_subcommand():
    parser = build_parser()
    before = parser.parse_args(["--db", "a.db", "--sites", "s.yml", "--data-dir", "d", "chat"])
    after = parser.parse_args(["chat", "--db", "a.db", "--sites", "s.yml", "--data-dir", "d"])
    neither = parser.parse_args(["validate"])
    for args in (before, after):
        assert (args.db, args.sites, args.data_dir) == ("a.db", "s.yml", "d")
    assert (neither.db, neither.sites, neither.data_dir) == (None, None, None)
    both = parser.parse_args(["--db", "first.db", "chat", "--db", "second.db"])
    assert both.db == "second.db"


@pytest.mark.parametrize("where", ["after", "before"])
def test_db_goes_where_asked(tmp_path, models_dir, where):
    db = tmp_path / "elsewhere" / "chats.sqlite"
    data_dir = tmp_path / "data"
    db.parent.mkdir()
    options = ["--db", db, "--data-dir", data_dir]
    args = [*options, "chat", "--jsonl"] if where == "before" else ["chat", "--jsonl", *options]
    done = run(*args, models_dir=models_dir, stdin=ONE_LINE)
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout.splitlines()[0])
    assert reply[0]["recipient_id"] == "cli-test"
    assert db.is_file()
    assert db.stat().st_size > 0
    assert not (data_dir / "bot.db").exists()


def test_db_that_cannot_be_opened_fails_with_a_clear_message(tmp_path, models_dir):
    done = run(
        "chat",
        "--jsonl",
        "--db",
        tmp_path,
        "--data-dir",
        tmp_path / "data",
        models_dir=models_dir,
        stdin=ONE_LINE,
    )
    assert_clean_failure(done, "cannot use", str(tmp_path))


def test_db_from_the_environment(tmp_path, models_dir):
    db = tmp_path / "env.db"
    done = run(
        "chat",
        "--jsonl",
        "--data-dir",
        tmp_path / "data",
        models_dir=models_dir,
        stdin=ONE_LINE,
        env={"MUTUAL_AID_DB": str(db)},
    )
    assert done.returncode == 0, done.stderr
    assert db.is_file()


@pytest.mark.parametrize("where", ["after", "before"])
def test_validate_with_missing_sites_file(tmp_path, models_dir, where):
    missing = tmp_path / "no-such-sites.yml"
    options = ["--sites", missing, "--data-dir", tmp_path / "data"]
    args = [*options, "validate"] if where == "before" else ["validate", *options]
    done = run(*args, models_dir=models_dir)
    assert_clean_failure(done, str(missing), "not found")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sites: [\n", "not valid YAML"),
        ("sites:\n  - id: 12\n    kind: pharmacy\n", "sites.0"),
        ("nothing: here\n", "sites"),
    ],
    ids=["bad yaml", "bad entry", "no sites list"],
)
def test_validate_with_invalid_sites_file(tmp_path, models_dir, content, expected):
    sites = tmp_path / "sites.yml"
    sites.write_text(content)
    done = run(
        "validate", "--sites", sites, "--data-dir", tmp_path / "data", models_dir=models_dir
    )
    assert_clean_failure(done, str(sites), expected)


def test_validate_passes_on_the_project_content(tmp_path, models_dir):
    done = run("validate", "--data-dir", tmp_path / "data", models_dir=models_dir)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout


@pytest.fixture
def broken_content(tmp_path: Path) -> Path:
    """A copy of the project's content whose pipeline names a component that does not exist."""
    content = tmp_path / "content"
    content.mkdir()
    shutil.copytree(PROJECT_DIR / "dialogues", content / "dialogues")
    shutil.copytree(PROJECT_DIR / "knowledge", content / "knowledge")
    config = (PROJECT_DIR / "config.yml").read_text()
    assert "name: WhitespaceTokenizer" in config
    broken = config.replace("name: WhitespaceTokenizer", "name: NoSuchTokenizer")
    (content / "config.yml").write_text(broken)
    return content


@pytest.mark.parametrize(
    "args", [["validate"], ["chat", "--jsonl"], ["chat"]], ids=["validate", "jsonl", "terminal"]
)
def test_broken_config_fails_with_a_clear_message(tmp_path, models_dir, broken_content, args):
    done = run(
        *args,
        "--data-dir",
        tmp_path / "data",
        models_dir=models_dir,
        stdin=ONE_LINE,
        env={"MUTUAL_AID_CONTENT_DIR": str(broken_content)},
        cwd=tmp_path,
    )
    assert_clean_failure(done, "NoSuchTokenizer", "config.yml" if args == ["validate"] else "")
    assert "cli-test" not in done.stdout


def test_missing_config_fails_with_a_clear_message(tmp_path, models_dir, broken_content):
    (broken_content / "config.yml").unlink()
    done = run(
        "chat",
        "--jsonl",
        "--data-dir",
        tmp_path / "data",
        models_dir=models_dir,
        stdin=ONE_LINE,
        env={"MUTUAL_AID_CONTENT_DIR": str(broken_content)},
        cwd=tmp_path,
    )
    assert_clean_failure(done, "config.yml", "not found")


def test_the_webhook_secret_comes_from_a_file_the_environment_or_the_option(tmp_path):
    import argparse

    from bot.cli import _webhook_secret
    from bot.settings import Settings

    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("from-the-file\n")
    plain = Settings(data_dir=tmp_path)
    with_env = Settings(data_dir=tmp_path, TELEGRAM_WEBHOOK_SECRET="from-the-environment")
    args = argparse.Namespace(secret_token="from-the-option", secret_token_file=None)
    assert _webhook_secret(args, plain) == "from-the-option"
    assert _webhook_secret(args, with_env) == "from-the-environment"
    args.secret_token_file = str(secret_file)
    assert _webhook_secret(args, with_env) == "from-the-file"


def test_a_missing_webhook_secret_file_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abcdefghijklmnop")
    code = main(
        [
            "run",
            "--data-dir",
            str(tmp_path),
            "--webhook",
            "https://bot.example.org",
            "--secret-token-file",
            str(tmp_path / "missing.txt"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot read the webhook secret file" in err
    assert "Traceback" not in err


def test_chat_exits_non_zero_when_the_database_cannot_be_written(make_engine, monkeypatch, capsys):
    import io as _io

    from bot.cli import talk

    engine = make_engine()
    engine.store._conn.execute("PRAGMA query_only = ON")
    monkeypatch.setattr(talk, "_engine", lambda settings: engine)
    monkeypatch.setattr(sys, "stdin", _io.StringIO(ONE_LINE))
    try:
        code = main(["chat", "--jsonl"])
    finally:
        engine.store._conn.execute("PRAGMA query_only = OFF")
    captured = capsys.readouterr()
    assert code == 1
    assert "try again" in captured.out
    assert "could not be used" in captured.err


def test_debug_shows_the_traceback_that_one_line_hides(tmp_path, models_dir):
    env = {"MUTUAL_AID_WEB_RATE_PER_SENDER": "0"}
    plain = run("--data-dir", tmp_path, "validate", models_dir=models_dir, env=env)
    assert_clean_failure(plain, "web_rate_per_sender", "--debug")
    debug = run("--debug", "--data-dir", tmp_path, "validate", models_dir=models_dir, env=env)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr
