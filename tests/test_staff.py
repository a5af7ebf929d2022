"""Staff enrolment codes, slowing down guesses, and anonymous per-site numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.codes import ALPHABET
from bot.knowledge import Site
from bot.staff import (
    GLOBAL_MAX_WRONG,
    MAX_WRONG,
    SiteStats,
    StaffService,
    WindowCounts,
    format_stats,
    normalise_code,
)
from bot.store import TrackerStore

KEY = b"k" * 64
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def move(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


def site(site_id: str, name: str) -> Site:
    return Site(
        id=site_id,
        kind="gp_practice",
        name=name,
        referral_form_url="https://forms.example.org/referral",
    )


RIVERSIDE = site("riverside", "Riverside Surgery")
HILLTOP = site("hilltop", "Hilltop Probation Office")


@pytest.fixture
def store(tmp_path: Path):
    store = TrackerStore(tmp_path / "db" / "bot.db")
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: TrackerStore, clock: Clock) -> StaffService:
    return StaffService(store, KEY, [RIVERSIDE, HILLTOP], now=clock)


def wrong_code(right: str) -> str:
    """A well-formed code that differs from the right one."""
    normal = normalise_code(right)
    assert normal is not None
    swap = ALPHABET[(ALPHABET.index(normal[0]) + 1) % len(ALPHABET)]
    return swap + normal[1:]


def test_code_looks_easy_to_type(service):
    code = service.invite("riverside")
    assert len(code) == 11
    assert code[5] == "-"
    assert all(char in ALPHABET for char in code.replace("-", ""))
    assert not set("01ILOU") & set(code)
    assert service.invite("riverside") != code


def test_invite_and_enrol_round_trip(service, store):
    code = service.invite("riverside")
    assert service.site_of("conv1") is None
    assert service.enrol("conv1", code) == RIVERSIDE
    assert service.site_of("conv1") == RIVERSIDE
    row = next(iter(store.db.table("staff").rows))
    assert row["conversation_id"] == "conv1"
    assert row["site_id"] == "riverside"
    assert row["enrolled_at"] == START.isoformat(timespec="seconds")
    assert store.db.table("staff_attempts").count == 0
    kinds = [event["kind"] for event in store.db.table("events").rows]
    assert kinds == ["staff_invite", "staff_enrol"]


def test_code_is_stored_only_hashed(service, store):
    code = service.invite("riverside")
    plain = code.replace("-", "")
    row = next(iter(store.db.table("staff_invites").rows))
    assert row["site_id"] == "riverside"
    assert row["used_at"] is None
    assert row["expires_at"] == (START + timedelta(days=7)).isoformat(timespec="seconds")
    assert plain not in row["code_hash"]
    assert len(row["code_hash"]) == 64
    assert service.enrol("conv1", code) == RIVERSIDE
    store.close()
    files = [path for path in store.path.parent.iterdir() if path.is_file()]
    assert store.path in files
    for path in files:
        data = path.read_bytes()
        for form in (code, plain, plain.lower()):
            assert form.encode() not in data, path


def test_code_works_only_once(service, store):
    code = service.invite("riverside")
    assert service.enrol("conv1", code) == RIVERSIDE
    assert service.enrol("conv2", code) is None
    assert service.site_of("conv2") is None
    assert store.db.table("staff_attempts").count == 1
    row = next(iter(store.db.table("staff_invites").rows))
    assert row["used_at"] == START.isoformat(timespec="seconds")


def test_expired_code_is_refused(service, clock):
    code = service.invite("hilltop", expires=timedelta(hours=2))
    clock.move(hours=2)
    assert service.enrol("conv1", code) is None
    assert service.site_of("conv1") is None


def test_code_works_until_it_expires(service, clock):
    code = service.invite("hilltop", expires=timedelta(hours=2))
    clock.move(hours=1, minutes=59)
    assert service.enrol("conv1", code) == HILLTOP


def test_unknown_site_cannot_be_invited(service):
    with pytest.raises(KeyError):
        service.invite("nowhere")


def test_code_for_a_removed_site_is_refused(service, store, clock):
    code = service.invite("hilltop")
    without_hilltop = StaffService(store, KEY, [RIVERSIDE], now=clock)
    assert without_hilltop.enrol("conv1", code) is None
    assert store.db.table("staff_attempts").count == 1
    # The invite was not used up: with the site back, it still works.
    assert service.enrol("conv1", code) == HILLTOP


def test_code_from_another_key_is_refused(service, store, clock):
    code = service.invite("riverside")
    other = StaffService(store, b"x" * 64, [RIVERSIDE, HILLTOP], now=clock)
    assert other.enrol("conv1", code) is None


@pytest.mark.parametrize(
    "variant",
    [
        lambda code: code,
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " "),
        lambda code: f"  {code[:3]} {code[3:]} ".lower(),
        lambda code: " ".join(code.replace("-", "")),
        lambda code: code.replace("-", "\u2013"),
    ],
)
def test_case_spaces_and_dashes_do_not_matter(service, variant):
    code = service.invite("riverside")
    assert service.enrol("conv1", variant(code)) == RIVERSIDE


@pytest.mark.parametrize("junk", ["", "hello", "ABCDE-FGHJK-MNPQR", "ABCDE-FGHJ0", "x" * 500])
def test_malformed_codes_are_refused_and_not_counted(service, store, junk):
    service.invite("riverside")
    assert service.enrol("conv1", junk) is None
    assert store.db.table("staff_attempts").count == 0


def test_wrong_codes_lock_out_even_the_right_code(service, store, clock):
    code = service.invite("riverside")
    for _ in range(MAX_WRONG):
        assert service.enrol("conv1", wrong_code(code)) is None
        clock.move(minutes=1)
    lock_start = START + timedelta(minutes=MAX_WRONG - 1)
    assert service.locked_until("conv1") == lock_start + timedelta(minutes=15)
    assert service.enrol("conv1", code) is None
    # Refused without looking at the code: nothing more recorded, the invite is unused.
    assert store.db.table("staff_attempts").count == MAX_WRONG
    assert next(iter(store.db.table("staff_invites").rows))["used_at"] is None
    # Another conversation is not locked out.
    assert service.locked_until("conv2") is None
    clock.moment = lock_start + timedelta(minutes=14, seconds=59)
    assert service.enrol("conv1", code) is None
    clock.moment = lock_start + timedelta(minutes=15)
    assert service.locked_until("conv1") is None
    assert service.enrol("conv1", code) == RIVERSIDE


def test_fewer_wrong_codes_or_slow_ones_do_not_lock(service, clock):
    code = service.invite("riverside")
    for _ in range(MAX_WRONG - 1):
        assert service.enrol("conv1", wrong_code(code)) is None
    clock.move(minutes=15)
    for _ in range(MAX_WRONG - 1):
        assert service.enrol("conv1", wrong_code(code)) is None
    assert service.locked_until("conv1") is None
    assert service.enrol("conv1", code) == RIVERSIDE


def lock_out(service: StaffService, clock: Clock, code: str) -> datetime:
    """Make MAX_WRONG wrong attempts now; return when the lockout ends."""
    for _ in range(MAX_WRONG):
        assert service.enrol("conv1", wrong_code(code)) is None
    end = service.locked_until("conv1")
    assert end is not None
    return end


def test_lockout_doubles_each_time_up_to_a_day(service, clock):
    code = service.invite("riverside", expires=timedelta(days=30))
    lengths = []
    for _ in range(9):
        end = lock_out(service, clock, code)
        lengths.append(end - clock.moment)
        assert service.enrol("conv1", code) is None
        clock.moment = end
    minutes = [length / timedelta(minutes=1) for length in lengths]
    assert minutes == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    assert service.enrol("conv1", code) == RIVERSIDE


def test_doubling_starts_again_after_a_quiet_day(service, clock):
    code = service.invite("riverside", expires=timedelta(days=30))
    end = lock_out(service, clock, code)
    clock.moment = end
    end = lock_out(service, clock, code)
    assert end - clock.moment == timedelta(minutes=30)
    clock.moment = end + timedelta(hours=24)
    end = lock_out(service, clock, code)
    assert end - clock.moment == timedelta(minutes=15)


def test_enrolling_clears_wrong_attempts(service, store):
    code = service.invite("riverside")
    for _ in range(MAX_WRONG - 1):
        service.enrol("conv1", wrong_code(code))
    assert service.enrol("conv1", code) == RIVERSIDE
    assert store.db.table("staff_attempts").count == 0


def test_many_fake_chats_hold_back_guessers_but_not_staff(service, clock):
    code = service.invite("riverside")
    for number in range(GLOBAL_MAX_WRONG):
        assert service.enrol(f"fake{number}", wrong_code(code)) is None
        clock.move(seconds=10)
    # Exactly the limit is allowed; the next wrong code goes over it.
    assert service.locked_until("guesser") is None
    assert service.enrol("guesser", wrong_code(code)) is None
    locked_at = clock.moment
    # Every chat that has guessed wrong is held back for 15 minutes...
    assert service.locked_until("guesser") == locked_at + timedelta(minutes=15)
    assert service.locked_until("fake1") == locked_at + timedelta(minutes=15)
    assert service.enrol("guesser", code) is None
    # ...but a member of staff who has not is never locked out by strangers.
    assert service.locked_until("staff") is None
    assert service.enrol("staff", code) == RIVERSIDE
    # A new sender gets one guess, then waits like the others.
    assert service.enrol("newcomer", wrong_code(code)) is None
    assert service.locked_until("newcomer") == locked_at + timedelta(minutes=15)
    clock.moment = locked_at + timedelta(minutes=15)
    assert service.locked_until("guesser") is None


def test_text_that_cannot_be_a_code_is_not_counted_as_a_guess(service, store):
    for words in ("please help me", "hello there", "what is this", "1234", "x" * 30):
        assert service.enrol("conv1", words) is None
    assert store.db.table("staff_attempts").count == 0
    assert service.locked_until("conv1") is None


def test_wrong_codes_spread_out_do_not_lock_everyone(service, clock):
    code = service.invite("riverside")
    for number in range(GLOBAL_MAX_WRONG * 2):
        assert service.enrol(f"fake{number}", wrong_code(code)) is None
        clock.move(seconds=20)  # 45 wrong codes in any 15 minutes
    assert service.enrol("staff", code) == RIVERSIDE


def test_site_of_after_the_site_is_removed(service, store, clock):
    assert service.enrol("conv1", service.invite("hilltop")) == HILLTOP
    without_hilltop = StaffService(store, KEY, [RIVERSIDE], now=clock)
    assert without_hilltop.site_of("conv1") is None
    assert service.site_of("conv1") == HILLTOP


def test_enrolling_again_moves_to_the_new_site(service):
    assert service.enrol("conv1", service.invite("hilltop")) == HILLTOP
    assert service.enrol("conv1", service.invite("riverside")) == RIVERSIDE
    assert service.site_of("conv1") == RIVERSIDE


def test_forget_unenrols_but_keeps_wrong_attempts(service, store):
    code = service.invite("riverside")
    service.enrol("conv2", wrong_code(code))
    assert service.enrol("conv2", code) == RIVERSIDE
    service.enrol("conv1", wrong_code(code))
    other = service.invite("hilltop")
    assert service.enrol("conv3", other) == HILLTOP
    service.forget("conv2")
    service.forget("conv1")
    assert service.site_of("conv2") is None
    assert service.site_of("conv3") == HILLTOP
    # conv1's wrong code stays (pseudonymous id and time only) until it expires.
    assert store.db.table("staff_attempts").count == 1
    service.forget("never-seen")


def test_forget_does_not_reset_a_lockout(service, clock):
    """Five wrong codes, /forget, five more: still locked, however often it is repeated."""
    code = service.invite("riverside")
    for _ in range(3):
        for _ in range(MAX_WRONG):
            service.enrol("conv1", wrong_code(code))
        service.forget("conv1")
        assert service.locked_until("conv1") is not None
    assert service.enrol("conv1", code) is None


def add_event(store: TrackerStore, kind: str, site_id: str, at: datetime, fields=()) -> None:
    store.db.table("events").insert(
        {
            "kind": kind,
            "site_id": site_id,
            "at": at.isoformat(timespec="seconds"),
            "fields": json.dumps(list(fields)),
        }
    )


def test_stats_counts_by_window(service, store, clock):
    for days in (0, 1, 6.9, 8, 29, 31, 400):
        add_event(store, "start", "riverside", START - timedelta(days=days))
    add_event(store, "handoff", "riverside", START, ["first_name", "phone"])
    add_event(store, "handoff", "riverside", START - timedelta(days=10), ["phone"])
    add_event(store, "handoff", "riverside", START - timedelta(days=60))
    # Other sites and other kinds are not counted.
    add_event(store, "start", "hilltop", START, [])
    add_event(store, "handoff", "hilltop", START, ["email"])
    add_event(store, "staff_enrol", "riverside", START)
    stats = service.stats("riverside")
    assert stats == SiteStats(
        site_id="riverside",
        starts=WindowCounts(last_7_days=3, last_30_days=5, all_time=7),
        handoffs=WindowCounts(last_7_days=1, last_30_days=2, all_time=3),
        fields={"phone": 2, "first_name": 1},
    )
    clock.move(days=19)
    moved = service.stats("riverside")
    assert moved.starts == WindowCounts(last_7_days=0, last_30_days=4, all_time=7)
    assert moved.handoffs == WindowCounts(last_7_days=0, last_30_days=2, all_time=3)


def test_stats_from_recorded_events(service, store, clock):
    clock.moment = datetime.now(UTC)
    store.record_event("start", "riverside")
    store.record_event("handoff", "riverside", ["first_name"])
    stats = service.stats("riverside")
    assert stats.starts.all_time == stats.starts.last_7_days == 1
    assert stats.handoffs.last_30_days == 1
    assert stats.fields == {"first_name": 1}
    clock.move(days=8)
    assert service.stats("riverside").starts == WindowCounts(last_30_days=1, all_time=1)


def test_stats_for_a_site_with_nothing_yet(service):
    stats = service.stats("hilltop")
    assert stats.starts == stats.handoffs == WindowCounts()
    assert stats.fields == {}


def test_format_stats():
    stats = SiteStats(
        site_id="riverside",
        starts=WindowCounts(last_7_days=3, last_30_days=5, all_time=7),
        handoffs=WindowCounts(last_7_days=1, last_30_days=2, all_time=3),
        fields={"phone": 2, "first_name": 1},
    )
    text = format_stats(stats, "Riverside Surgery")
    assert text == (
        "Numbers for Riverside Surgery\n"
        "\n"
        "Chats started from your links\n"
        "- Last 7 days: 3\n"
        "- Last 30 days: 5\n"
        "- All time: 7\n"
        "\n"
        "Chats sent on to your referral form\n"
        "- Last 7 days: 1\n"
        "- Last 30 days: 2\n"
        "- All time: 3\n"
        "\n"
        "Times the bot gave emergency help numbers\n"
        "- Last 7 days: 0\n"
        "- Last 30 days: 0\n"
        "- All time: 0\n"
        "\n"
        "Details people chose to share with the form\n"
        "- phone: 2\n"
        "- first name: 1"
    )
    assert all(len(line) <= 50 for line in text.splitlines())


def test_format_stats_with_nothing_yet_and_own_labels():
    empty = SiteStats(site_id="hilltop", starts=WindowCounts(), handoffs=WindowCounts(), fields={})
    text = format_stats(empty, "Hilltop", labels={"none": "Nothing yet", "all_time": "Ever"})
    assert text.splitlines()[-1] == "- Nothing yet"
    assert "- Ever: 0" in text
    assert "- Last 7 days: 0" in text
