"""The tracker store, and privacy: what a person typed never reaches disk or logs."""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from bot.engine import Engine
from bot.pseudonym import Pseudonymiser, load_or_create_secret
from bot.settings import PROJECT_DIR, Settings
from bot.store import HISTORY_LIMIT, ConversationState, TrackerStore
from tests.helpers import payloads, say, staff_of, texts


@pytest.fixture
def store(tmp_path: Path):
    store = TrackerStore(tmp_path / "db" / "bot.db")
    yield store
    store.close()


def sample_state(conversation_id: str = "c0ffee") -> ConversationState:
    return ConversationState(
        id=conversation_id,
        slots={"plan_option": "aa", "plan_format": None, "requested_slot": "plan_format"},
        active_loop="plan_form",
        history=[
            {"intent": "plan_meeting"},
            {"action": "plan_form"},
            {"active_loop": "plan_form"},
        ],
        offered=['/inform{"plan_format": "online"}', "/stop"],
        turns=3,
    )


def test_migrations_apply_twice_safely(tmp_path):
    path = tmp_path / "bot.db"
    first = TrackerStore(path)
    state = sample_state()
    first.save(state)
    applied = [row["name"] for row in first.db.table("_sqlite_migrations").rows]
    first.close()
    second = TrackerStore(path)
    try:
        again = [row["name"] for row in second.db.table("_sqlite_migrations").rows]
        assert again == applied
        assert len(applied) == len(set(applied)) >= 2
        assert second.load("c0ffee") == state
        assert second.count() == 1
    finally:
        second.close()


def test_wal_mode_is_on(store):
    assert store.db.journal_mode == "wal"


def test_save_and_load_round_trip(store):
    state = sample_state()
    store.save(state)
    loaded = store.load("c0ffee")
    assert loaded == state
    assert loaded.requested_slot == "plan_format"
    assert store.load("someone-else") is None


def test_save_overwrites_the_same_conversation(store):
    state = sample_state()
    store.save(state)
    state.slots["plan_format"] = "online"
    state.turns = 4
    store.save(state)
    assert store.count() == 1
    loaded = store.load("c0ffee")
    assert loaded.slots["plan_format"] == "online"
    assert loaded.turns == 4


def test_history_is_capped(store):
    state = sample_state()
    state.history = [{"intent": f"intent_{i}"} for i in range(HISTORY_LIMIT + 15)]
    store.save(state)
    loaded = store.load("c0ffee")
    assert len(loaded.history) == HISTORY_LIMIT
    assert loaded.history[-1] == {"intent": f"intent_{HISTORY_LIMIT + 14}"}


def test_forget(store):
    store.save(sample_state("one"))
    store.save(sample_state("two"))
    assert store.forget("one") is True
    assert store.load("one") is None
    assert store.load("two") is not None
    assert store.forget("one") is False
    assert store.count() == 1


def test_transient_slots_are_never_written(store):
    state = sample_state()
    state.slots["note"] = "my secret phrase zebra-42"
    store.save(state, {"note"})
    loaded = store.load("c0ffee")
    assert "note" not in loaded.slots
    assert loaded.slots["plan_option"] == "aa"
    # The caller's state in memory still has it for the rest of the turn.
    assert state.slots["note"] == "my secret phrase zebra-42"
    store.close()
    assert b"zebra-42" not in disk_bytes(store.path)


# ----- privacy through the whole engine ---------------------------------------------------

SECRET_TEXT = "my secret phrase zebra-42 i drink too much"
CRISIS_TEXT = "i want to kill myself tonight quokka-77"
NONSENSE = "blorptastic wumbleflax-99"
IN_FORM_TEXT = "maybe the one near marmoset-13 street"
CHAT_ID = "telegram-chat-55501234"
TYPED = [SECRET_TEXT, CRISIS_TEXT, NONSENSE, IN_FORM_TEXT]
MARKERS = ["zebra-42", "quokka-77", "wumbleflax", "marmoset-13", "drink too much", "kill myself"]


def disk_bytes(db_path: Path) -> bytes:
    """Every byte SQLite keeps for a database: the file, its WAL and shared memory."""
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


def assert_absent(data: str | bytes, needles: list[str], where: str) -> None:
    for needle in needles:
        for form in (needle, needle.upper(), needle.title()):
            encoded = form.encode() if isinstance(data, bytes) else form
            assert encoded not in data, f"{form!r} found in {where}"


async def talk(engine: Engine, chat_id: str = CHAT_ID) -> None:
    """A conversation with distinctive typed text at every stage."""
    await say(engine, "/start", chat_id)
    assert await say(engine, SECRET_TEXT, chat_id)
    await say(engine, NONSENSE, chat_id)
    await say(engine, NONSENSE, chat_id)
    replies = await say(engine, "/plan_meeting", chat_id)
    await say(engine, IN_FORM_TEXT, chat_id)
    assert "116 123" in texts(await say(engine, CRISIS_TEXT, chat_id))
    pick = next(p for p in payloads(replies) if p.startswith("/inform"))
    await say(engine, pick, chat_id)
    await say(engine, SECRET_TEXT.upper(), chat_id)
    await say(engine, "x" * 5000 + " zebra-42 " + "y" * 5000, chat_id)


async def test_nothing_typed_reaches_the_database_or_logs(make_engine, settings, caplog):
    caplog.set_level(logging.DEBUG)
    engine = make_engine()
    await talk(engine)
    stored = engine.store.load(engine.conversation_id("test", CHAT_ID))
    assert stored is not None
    assert stored.turns == 10
    # While open, the WAL holds the latest writes.
    assert_absent(disk_bytes(settings.db_path), MARKERS, "the open database")
    engine.store.close()
    data = disk_bytes(settings.db_path)
    assert len(data) > 0
    assert_absent(data, MARKERS, "the database files")
    assert_absent(data, [CHAT_ID], "the database files")
    assert caplog.records, "expected some log records at DEBUG"
    assert_absent(caplog.text, [*MARKERS, CHAT_ID], "the logs")
    for record in caplog.records:
        assert_absent(repr(record.args), MARKERS, "log record arguments")


async def test_conversation_ids_are_pseudonyms(engine, settings):
    await say(engine, "/start", CHAT_ID, channel="telegram")
    await say(engine, "/start", "second-chat", channel="telegram")
    rows = list(engine.store.db.table("conversations").rows)
    ids = {row["id"] for row in rows}
    assert ids == {
        engine.conversation_id("telegram", CHAT_ID),
        engine.conversation_id("telegram", "second-chat"),
    }
    for conversation_id in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", conversation_id)
        assert CHAT_ID not in conversation_id
    # Without the key, the same chat id gives a different, unlinkable id.
    other = Pseudonymiser(b"k" * 64).conversation_id("telegram", CHAT_ID)
    assert other not in ids


async def test_secret_key_is_private_and_reused(make_engine, settings):
    first = make_engine()
    key_path = settings.secret_path
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = key_path.read_bytes()
    assert len(key) >= 32
    conversation_id = first.conversation_id("test", CHAT_ID)
    await say(first, "/plan_meeting", CHAT_ID)
    first.store.close()

    second = make_engine()
    assert key_path.read_bytes() == key
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert second.conversation_id("test", CHAT_ID) == conversation_id
    assert second.store.load(conversation_id).active_loop == "plan_form"


def test_secret_key_creation_and_reuse(tmp_path):
    path = tmp_path / "nested" / "secret.key"
    key = load_or_create_secret(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(path) == key
    assert load_or_create_secret(Path(str(path))) == path.read_bytes().strip()


def test_a_short_secret_key_is_refused(tmp_path):
    path = tmp_path / "secret.key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="too short"):
        load_or_create_secret(path)


def test_pseudonyms_depend_on_channel_key_and_chat():
    one = Pseudonymiser(b"a" * 64)
    two = Pseudonymiser(b"b" * 64)
    assert one.conversation_id("telegram", "1") == one.conversation_id("telegram", "1")
    assert one.conversation_id("telegram", "1") != one.conversation_id("jsonl", "1")
    assert one.conversation_id("telegram", "1") != one.conversation_id("telegram", "2")
    assert one.conversation_id("telegram", "1") != two.conversation_id("telegram", "1")
    # The separator keeps "a"+"b c" apart from "a b"+"c".
    assert one.conversation_id("a", "b c") != one.conversation_id("a b", "c")


# ----- a from_text slot, through the engine -----------------------------------------------


@pytest.fixture
def content_with_free_text(tmp_path: Path) -> Path:
    """A copy of the project's content whose domain has a from_text slot."""
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(PROJECT_DIR / "config.yml", content / "config.yml")
    shutil.copytree(PROJECT_DIR / "dialogues", content / "dialogues")
    shutil.copytree(PROJECT_DIR / "knowledge", content / "knowledge")
    domain_path = content / "dialogues" / "domain.yml"
    domain = yaml.safe_load(domain_path.read_text())
    domain["slots"]["last_words"] = {
        "type": "text",
        "influence_conversation": False,
        "mappings": [{"type": "from_text"}],
    }
    domain_path.write_text(yaml.safe_dump(domain, sort_keys=False))
    return content


async def test_from_text_slot_is_never_written(make_engine, settings, content_with_free_text):
    custom = Settings(
        data_dir=settings.data_dir,
        models_dir=settings.models_dir,
        content_dir=content_with_free_text,
    )
    engine = make_engine(settings=custom)
    assert engine.transient == {"last_words"}
    replies = await say(engine, SECRET_TEXT)
    assert replies
    await say(engine, "/help")
    state = engine.store.load(engine.conversation_id("test", "tester"))
    assert "last_words" not in state.slots
    engine.store.close()
    assert_absent(disk_bytes(custom.db_path), MARKERS, "the database files")


def test_a_new_data_folder_and_database_are_private(tmp_path):
    folder = tmp_path / "fresh" / "data"
    store = TrackerStore(folder / "bot.db")
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "bot.db").stat().st_mode) == 0o600
    finally:
        store.close()


def test_a_secret_key_others_can_read_is_refused(tmp_path):
    path = tmp_path / "secret.key"
    load_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_or_create_secret(path)


async def test_nothing_of_a_forgotten_conversation_stays_in_the_files(engine):
    """After /forget, neither the database nor its write-ahead log holds the old rows."""
    for message in ("hello", "/list_options", "/plan_meeting"):
        await say(engine, message, "leaver")
    conversation = engine.conversation_id("test", "leaver")
    await say(engine, "/forget", "leaver")
    _assert_not_in_files(engine.store.path, conversation.encode())


def _assert_not_in_files(db_path: Path, secret: bytes) -> None:
    for suffix in ("", "-wal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            assert secret not in path.read_bytes(), path.name


def _age(store: TrackerStore, conversation_id: str, when: str) -> None:
    with store.lock, store.db.conn:
        store.db.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?", [when, conversation_id]
        )


def test_idle_conversations_are_purged(tmp_path):
    store = TrackerStore(tmp_path / "bot.db")
    try:
        store.save(ConversationState(id="idle"))
        store.save(ConversationState(id="recent"))
        _age(store, "idle", "2020-01-01T00:00:00+00:00")
        assert store.purge_idle(30) == 1
        assert store.load("idle") is None
        assert store.load("recent") is not None
        assert store.purge_idle(30) == 0
    finally:
        store.close()


async def test_the_engine_purges_idle_conversations_when_it_starts(engine, make_engine):
    await say(engine, "hello", "long-gone")
    await say(engine, "hello", "still-here")
    gone = engine.conversation_id("test", "long-gone")
    _age(engine.store, gone, "2020-01-01T00:00:00+00:00")
    restarted = make_engine()
    assert restarted.store.load(gone) is None
    assert restarted.store.load(engine.conversation_id("test", "still-here")) is not None


async def test_an_idle_staff_chat_loses_its_enrolment_too(engine, make_engine):
    code = staff_of(engine).invite("riverside")
    await say(engine, f"/staff {code}", "idle-staff")
    await say(engine, "hello", "idle-staff")
    staff_chat = engine.conversation_id("test", "idle-staff")
    assert staff_of(engine).site_of(staff_chat) is not None
    _age(engine.store, staff_chat, "2020-01-01T00:00:00+00:00")
    restarted = make_engine()
    assert restarted.store.load(staff_chat) is None
    assert staff_of(restarted).site_of(staff_chat) is None
