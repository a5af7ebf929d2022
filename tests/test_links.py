"""bot/links.py: signed start payloads, single use, expiry, short codes and durations."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.knowledge import Site, load_sites
from bot.links import (
    CODE_ALPHABET,
    PAYLOAD_BYTES,
    LinkError,
    LinkService,
    format_code,
    normalise_code,
    parse_duration,
)
from bot.store import TrackerStore

KEY = b"k" * 64
OTHER_KEY = b"z" * 64
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SITES_YAML = """\
sites:
  - id: riverside
    kind: gp_practice
    name: Riverside Surgery
    referral_form_url: https://forms.example.org/riverside
  - id: northgate-probation
    kind: probation
    name: Northgate Probation Office
    referral_form_url: https://forms.example.org/northgate
"""
TELEGRAM_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHOWN_CODE = re.compile(f"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sites_file(tmp_path: Path) -> Path:
    path = tmp_path / "sites.yml"
    path.write_text(SITES_YAML, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TrackerStore]:
    store = TrackerStore(tmp_path / "data" / "bot.db")
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(store: TrackerStore, sites_file: Path, clock: Clock) -> LinkService:
    return LinkService(store, KEY, load_sites(sites_file), now=clock)


def reason(service: LinkService, payload: str, consume: bool = True) -> str:
    with pytest.raises(LinkError) as caught:
        service.verify(payload, consume=consume)
    return caught.value.reason


# Payloads


def test_payload_round_trip(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=30), single_use=False)
    info = links.verify(payload)
    assert info.site.id == "riverside"
    assert info.expires_at == START + timedelta(days=30)
    assert info.single_use is False
    probation = links.verify(links.make_payload("northgate-probation", timedelta(hours=2)))
    assert probation.site.kind == "probation"


def test_payload_fits_telegram_and_hides_the_site_id(links: LinkService):
    payloads = {links.make_payload("riverside", timedelta(days=30)) for _ in range(50)}
    assert len(payloads) == 50  # a random nonce in every one
    for payload in payloads:
        assert len(payload) <= 64
        assert TELEGRAM_PAYLOAD.match(payload)
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert len(raw) == PAYLOAD_BYTES
        assert b"riverside" not in raw
        assert "riverside" not in payload.lower()


def test_every_changed_character_is_refused(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=30), single_use=True)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(payload):
        for replacement in (alphabet[(alphabet.index(char) + 1) % 64], char.swapcase()):
            if replacement == char:
                continue
            tampered = payload[:index] + replacement + payload[index + 1 :]
            assert reason(links, tampered) == "invalid", index
    # Nothing was used up by the failed attempts.
    assert links.verify(payload).single_use is True


@pytest.mark.parametrize(
    "junk",
    ["", "hello", "riverside", "a" * 52, "a" * 64, "a" * 200, "!!!", "AQ==", "/start", " "],
)
def test_junk_is_invalid(links: LinkService, junk: str):
    assert reason(links, junk) == "invalid"


def test_cut_or_lengthened_payloads_are_invalid(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=1))
    for bad in (payload[:-1], payload[:-4], payload + "A", payload + "AAAA", payload[1:]):
        assert reason(links, bad) == "invalid"


def test_a_payload_from_another_key_is_invalid(store: TrackerStore, sites_file: Path):
    sites = load_sites(sites_file)
    ours = LinkService(store, KEY, sites)
    theirs = LinkService(store, OTHER_KEY, sites)
    assert reason(ours, theirs.make_payload("riverside", timedelta(days=1))) == "invalid"


def test_an_unknown_version_is_invalid(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=1))
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[0] = 2
    body = bytes(raw[:-16])
    forged = base64.urlsafe_b64encode(body + links._mac(body)).rstrip(b"=").decode()
    assert reason(links, forged) == "invalid"


def test_expiry(links: LinkService, clock: Clock):
    payload = links.make_payload("riverside", timedelta(hours=12))
    clock.now = START + timedelta(hours=12) - timedelta(seconds=1)
    assert links.verify(payload).site.id == "riverside"
    clock.now = START + timedelta(hours=12)
    assert reason(links, payload) == "expired"
    clock.now = START + timedelta(days=400)
    assert reason(links, payload) == "expired"


def test_single_use_is_recorded_hashed_and_refused_the_second_time(
    links: LinkService, store: TrackerStore
):
    payload = links.make_payload("riverside", timedelta(days=1), single_use=True)
    # Checking without consuming records nothing.
    assert links.verify(payload, consume=False).single_use is True
    assert store.db.table("used_links").count == 0
    assert links.verify(payload).single_use is True
    rows = list(store.db.table("used_links").rows)
    assert len(rows) == 1
    nonce = base64.urlsafe_b64decode(payload)[14:23]
    assert rows[0]["nonce"] != nonce.hex()
    assert nonce.hex() not in rows[0]["nonce"]
    assert reason(links, payload) == "reused"
    assert reason(links, payload, consume=False) == "reused"


def test_single_use_survives_a_new_store(tmp_path: Path, sites_file: Path):
    sites = load_sites(sites_file)
    first = TrackerStore(tmp_path / "shared.db")
    payload = LinkService(first, KEY, sites).make_payload("riverside", timedelta(days=1), True)
    LinkService(first, KEY, sites).verify(payload)
    first.close()
    second = TrackerStore(tmp_path / "shared.db")
    try:
        assert reason(LinkService(second, KEY, sites), payload) == "reused"
    finally:
        second.close()


def test_reusable_links_work_many_times_and_record_nothing(
    links: LinkService, store: TrackerStore
):
    payload = links.make_payload("riverside", timedelta(days=1), single_use=False)
    for _ in range(3):
        assert links.verify(payload).site.id == "riverside"
    assert store.db.table("used_links").count == 0


def test_a_site_removed_from_the_sites_file_is_unknown(
    store: TrackerStore, sites_file: Path, clock: Clock
):
    before = LinkService(store, KEY, load_sites(sites_file), now=clock)
    payload = before.make_payload("northgate-probation", timedelta(days=30))
    kept = SITES_YAML.split("  - id: northgate-probation")[0]
    sites_file.write_text(kept, encoding="utf-8")
    after = LinkService(store, KEY, load_sites(sites_file), now=clock)
    assert [site.id for site in after.sites] == ["riverside"]
    assert reason(after, payload) == "unknown_site"
    assert after.verify(after.make_payload("riverside", timedelta(days=1))).site.id == "riverside"


def test_making_a_payload_for_an_unknown_site_or_a_bad_expiry_fails(links: LinkService):
    with pytest.raises(KeyError):
        links.make_payload("nowhere", timedelta(days=1))
    for bad in (timedelta(0), timedelta(seconds=-5), timedelta(days=5000)):
        with pytest.raises(ValueError, match=r"expire|at most"):
            links.make_payload("riverside", bad)


# Addresses


def test_deep_and_web_links(store: TrackerStore, sites_file: Path):
    sites = load_sites(sites_file)
    plain = LinkService(store, KEY, sites, telegram_username="@ExampleHelpBot")
    payload = plain.make_payload("riverside", timedelta(days=1))
    assert plain.deep_link(payload) == f"https://t.me/ExampleHelpBot?start={payload}"
    assert plain.web_link(payload) is None
    web = LinkService(
        store, KEY, sites, web_chat_url="https://chat.example.org/talk?lang=en&start=old"
    )
    assert web.web_link(payload) == f"https://chat.example.org/talk?lang=en&start={payload}"
    with pytest.raises(ValueError, match="username"):
        LinkService(store, KEY, sites, telegram_username="not a name!")


def test_qr_codes_and_posters_point_to_the_web_chat_when_there_is_one(
    store: TrackerStore, sites_file: Path
):
    sites = load_sites(sites_file)
    plain = LinkService(store, KEY, sites, telegram_username="ExampleHelpBot")
    payload = plain.make_payload("riverside", timedelta(days=1))
    assert plain.public_link(payload) == plain.deep_link(payload)
    assert plain.chat_address() == "t.me/ExampleHelpBot"
    web = LinkService(store, KEY, sites, web_chat_url="https://chat.example.org/talk/")
    assert web.public_link(payload) == f"https://chat.example.org/talk/?start={payload}"
    assert web.chat_address() == "chat.example.org/talk"


# Short codes


def test_short_code_round_trip_and_storage(links: LinkService, store: TrackerStore):
    payload = links.make_payload("riverside", timedelta(days=30))
    expires_at = links.verify(payload).expires_at
    code = links.short_code(payload, "riverside", expires_at)
    assert SHOWN_CODE.match(code)
    assert not set(code) & set("01OIL")
    assert links.resolve_code(code) == payload
    row = next(iter(store.db.table("link_codes").rows))
    assert row["code"] == code.replace("-", "")
    assert row["site_id"] == "riverside"
    assert datetime.fromisoformat(row["expires_at"]) == expires_at


def test_typed_variants_of_a_short_code_resolve(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=30))
    code = links.short_code(payload, "riverside", START + timedelta(days=30))
    bare = code.replace("-", "")
    variants = [
        code.lower(),
        bare,
        bare.lower(),
        f"  {code}  ",
        f"{bare[:4]} {bare[4:]}",
        f"{bare[:4].lower()} - {bare[4:]}",
        " ".join(bare),
        f"{bare[:2]}-{bare[2:6]}-{bare[6:]}",
    ]
    for number, typed in enumerate(variants):
        assert links.resolve_code(typed, f"chat-{number}") == payload, typed


@pytest.mark.parametrize(
    "typed", ["", "hello there", "ABCD-EFG", "ABCD-EFGHJ", "ABC0-EFGH", "OOOO-IIII", "/start"]
)
def test_text_that_is_not_a_code_does_not_resolve(links: LinkService, typed: str):
    links.short_code(links.make_payload("riverside", timedelta(days=1)), "riverside", START)
    assert links.resolve_code(typed) is None


def test_an_unknown_code_does_not_resolve(links: LinkService):
    assert links.resolve_code("ABCD-EFGH") is None
    assert normalise_code("abcd efgh") == "ABCDEFGH"
    assert format_code("ABCDEFGH") == "ABCD-EFGH"


def test_codes_are_distinct_and_single_use_through_a_code(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=1), single_use=True)
    codes = {links.short_code(payload, "riverside", START + timedelta(days=1)) for _ in range(30)}
    assert len(codes) == 30
    first = links.resolve_code(next(iter(codes)))
    assert first == payload
    assert links.verify(first).site.id == "riverside"
    assert reason(links, links.resolve_code(codes.pop())) == "reused"


def test_an_expired_code_resolves_and_then_verifies_as_expired(links: LinkService, clock: Clock):
    payload = links.make_payload("riverside", timedelta(hours=1))
    code = links.short_code(payload, "riverside", START + timedelta(hours=1))
    clock.now = START + timedelta(hours=2)
    assert links.resolve_code(code) == payload
    assert reason(links, payload) == "expired"
    clock.now = START + timedelta(days=40)
    assert links.prune_codes() == 1
    assert links.resolve_code(code) is None


def test_a_short_code_needs_a_known_site(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=1))
    with pytest.raises(KeyError):
        links.short_code(payload, "nowhere", START)


# Durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("1D", timedelta(days=1)),
        (" 7 d ", timedelta(days=7)),
        ("365d", timedelta(days=365)),
    ],
)
def test_durations(text: str, expected: timedelta):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "for example 30d, 12h, 90m or 2w"),
        ("30", "not a duration"),
        ("d", "not a duration"),
        ("1y", "not a duration"),
        ("30 days", "not a duration"),
        ("-1d", "not a duration"),
        ("1.5d", "not a duration"),
        ("0d", "more than zero"),
        ("999w", "too long"),
    ],
)
def test_bad_durations_say_what_is_wrong(text: str, message: str):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


# Sites: prefill keys


def test_site_prefill_keys_must_be_shareable_fields():
    base = {
        "id": "riverside",
        "kind": "gp_practice",
        "name": "Riverside Surgery",
        "referral_form_url": "https://forms.example.org/r",
    }
    site = Site.model_validate(
        base | {"prefill": {"interests": "entry.1", "contact_method": "entry.2"}}
    )
    assert site.prefill["interests"] == "entry.1"
    with pytest.raises(ValueError, match="not a shareable field"):
        Site.model_validate(base | {"prefill": {"name": "entry.3"}})
    with pytest.raises(ValueError, match="query parameter"):
        Site.model_validate(base | {"prefill": {"best_time": "a b&c"}})


def test_typed_codes_are_limited_per_chat(links: LinkService, clock: Clock):
    payload = links.make_payload("riverside", timedelta(days=30))
    code = links.short_code(payload, "riverside", links.verify(payload).expires_at)
    for guess in ("ABCD-EFGH", "BCDE-FGHJ", "CDEF-GHJK", "DEFG-HJKM"):
        assert links.resolve_code(guess, "guesser") is None
    assert links.resolve_code(code, "guesser") == payload  # the fifth quick try
    assert links.resolve_code(code, "guesser") is None  # past the limit: not looked up
    assert links.resolve_code(code, "someone else") == payload
    clock.now += timedelta(minutes=1)
    assert links.resolve_code(code, "guesser") == payload


def test_text_that_is_not_code_shaped_uses_no_tries(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=30))
    code = links.short_code(payload, "riverside", links.verify(payload).expires_at)
    for _ in range(50):
        assert links.resolve_code("what groups are there near me", "chatty") is None
    assert links.resolve_code(code, "chatty") == payload


def test_typed_codes_are_limited_across_all_chats(links: LinkService):
    payload = links.make_payload("riverside", timedelta(days=30))
    code = links.short_code(payload, "riverside", links.verify(payload).expires_at)
    for number in range(60):
        links.resolve_code("ABCD-EFGH", f"fake-{number}")
    assert links.resolve_code(code, "real person") is None
