"""Signed deep-link payloads and short codes that start a chat tied to a site.

A payload is what follows ``/start`` (Telegram's ``?start=``, the web chat's ``?start=``). It
is opaque and short enough for Telegram (at most 64 characters of ``A-Za-z0-9_-``): 39 bytes,
base64url without padding, so exactly 52 characters:

    version (1) | flags (1) | site reference (8) | expiry (4) | nonce (9) | MAC (16)

- the site reference is a keyed hash of the site id, so the id is not readable in the link;
- the expiry is a Unix time in seconds (big-endian, unsigned);
- the nonce is random, so two links for the same site differ, and a single-use link can be
  refused the second time (its nonce is stored, hashed, in ``used_links``);
- the MAC is an HMAC of everything before it, with a key derived from the data folder's
  secret for this purpose only (``Pseudonymiser.sign("link", ...)``).

Nothing about a person is ever in a payload. Some Telegram clients drop the start payload,
so each link also gets a short code (``ABCD-2345``) that a person can type into the chat; the
code maps to the payload in ``link_codes``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.clock import iso, utc_now
from bot.codes import ALPHABET, CodeFormat
from bot.knowledge import Site
from bot.pseudonym import Pseudonymiser
from bot.rate_limit import RateLimiter

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store import TrackerStore

VERSION = 1
FLAG_SINGLE_USE = 0x01
_HEADER = struct.Struct(">BB8sI9s")  # version, flags, site reference, expiry, nonce
MAC_BYTES = 16
PAYLOAD_BYTES = _HEADER.size + MAC_BYTES  # 39: a multiple of 3, so no padding bits
PAYLOAD_CHARS = PAYLOAD_BYTES * 4 // 3  # 52
MAX_PAYLOAD_CHARS = 64  # Telegram's limit for a start parameter
_PAYLOAD_TEXT = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_EXPIRY = timedelta(days=3660)  # about ten years: a poster outlives a print run, not more

# Short codes: no 0/O, 1/I/L (nor U, as in staff codes), so a code off a poster is typed right.
log = logging.getLogger(__name__)
SHORT_CODES = CodeFormat(length=8, group=4)
# Typed short codes: per chat, 5 quick tries then one a minute; across all chats, 60 quick
# tries then 30 a minute. 30^8 codes make guessing hopeless either way; this keeps it slow.
CODE_TRIES_PER_MINUTE, CODE_TRIES_BURST = 1, 5
ALL_CODE_TRIES_PER_MINUTE, ALL_CODE_TRIES_BURST = 30, 60
CODE_ALPHABET = ALPHABET
CODE_LENGTH = SHORT_CODES.length

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TELEGRAM_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")

Reason = Literal["invalid", "expired", "reused", "unknown_site"]


class LinkError(Exception):
    """A payload that cannot start a chat for a site, and why (``reason``)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True)
class IssuedLink:
    """A new start link: its payload, short code and lifetime."""

    payload: str
    code: str
    expires_at: datetime
    single_use: bool


@dataclass(frozen=True)
class LinkInfo:
    """What a valid payload says: the site, until when, and whether it works only once."""

    site: Site
    expires_at: datetime
    single_use: bool


def parse_duration(text: str) -> timedelta:
    """A duration such as ``30d``, ``12h``, ``90m`` or ``2w``; ValueError when it is not one."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(
            f"'{text}' is not a duration: use a number and a unit (m, h, d or w), "
            "for example 30d, 12h, 90m or 2w"
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"'{text}': a duration must be more than zero")
    duration = timedelta(**{_UNITS[unit]: amount})
    if duration > MAX_EXPIRY:
        raise ValueError(f"'{text}' is too long: at most {MAX_EXPIRY.days} days")
    return duration


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Decode canonical unpadded base64url, or None."""
    if not _PAYLOAD_TEXT.match(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Reject non-canonical text (unused low bits set), so one payload has one spelling.
    return data if _b64encode(data) == text else None


def normalise_code(text: str) -> str | None:
    """A typed short code as stored (8 upper-case characters), or None if it is not one."""
    return SHORT_CODES.normalise(text)


def format_code(code: str) -> str:
    """A stored code as shown to people: ``ABCD-2345``."""
    return SHORT_CODES.show(code)


class LinkService:
    """Makes and checks link payloads and short codes for the sites in the sites file."""

    def __init__(
        self,
        store: TrackerStore,
        key: bytes,
        sites: list[Site],
        telegram_username: str = "MutualAidBot",
        web_chat_url: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        username = telegram_username.strip().removeprefix("@")
        if not _TELEGRAM_USERNAME.match(username):
            raise ValueError(f"'{telegram_username}' is not a Telegram bot username")
        self.store = store
        self.sites = list(sites)
        self.telegram_username = username
        self.web_chat_url = str(web_chat_url) if web_chat_url else None
        self._signer = Pseudonymiser(key)
        self._now = now or utc_now
        self._by_ref = {self._site_ref(site.id): site for site in self.sites}
        # Typed codes are limited like staff codes: a few quick tries per chat, then one a
        # minute; and across all chats, so many fake chats cannot sweep the code space.
        clock = lambda: self._now().timestamp()  # noqa: E731 - the test clock, in seconds
        self._code_tries = RateLimiter(CODE_TRIES_PER_MINUTE, CODE_TRIES_BURST, clock=clock)
        self._all_code_tries = RateLimiter(
            ALL_CODE_TRIES_PER_MINUTE, ALL_CODE_TRIES_BURST, max_keys=1, clock=clock
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, store: TrackerStore, sites: list[Site] | None = None
    ) -> LinkService:
        """A service using the settings' secret key, sites file, username and web chat."""
        from bot.knowledge import load_sites
        from bot.pseudonym import load_or_create_secret

        return cls(
            store,
            load_or_create_secret(settings.secret_path),
            load_sites(settings.sites_path) if sites is None else sites,
            telegram_username=settings.telegram_username,
            web_chat_url=str(settings.web_chat_url) if settings.web_chat_url else None,
        )

    # -- payloads ---------------------------------------------------------------------------

    def _site_ref(self, site_id: str) -> bytes:
        return self._signer.sign("link-site", site_id.encode())[:8]

    def _mac(self, body: bytes) -> bytes:
        return self._signer.sign("link", body)[:MAC_BYTES]

    def _nonce_hash(self, nonce: bytes) -> str:
        return self._signer.sign("link-nonce", nonce).hex()[:32]

    def site(self, site_id: str) -> Site:
        """The site with this id; KeyError if the sites file has none."""
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)

    def make_payload(self, site_id: str, expires: timedelta, single_use: bool = False) -> str:
        """A signed start payload for a site, valid for ``expires`` from now."""
        site = self.site(site_id)
        if expires <= timedelta(0):
            raise ValueError("a link must expire in the future")
        if expires > MAX_EXPIRY:
            raise ValueError(f"a link can last at most {MAX_EXPIRY.days} days")
        expires_at = int((self._now() + expires).timestamp())
        flags = FLAG_SINGLE_USE if single_use else 0
        body = _HEADER.pack(
            VERSION, flags, self._site_ref(site.id), expires_at, secrets.token_bytes(9)
        )
        payload = _b64encode(body + self._mac(body))
        assert len(payload) == PAYLOAD_CHARS <= MAX_PAYLOAD_CHARS
        return payload

    def issue(self, site_id: str, expires: timedelta, single_use: bool = False) -> IssuedLink:
        """A signed payload for a site and the short code that stands for it."""
        payload = self.make_payload(site_id, expires, single_use=single_use)
        info = self.verify(payload, consume=False)
        code = self.short_code(payload, site_id, info.expires_at)
        return IssuedLink(payload, code, info.expires_at, info.single_use)

    def open(self, payload: str) -> tuple[str, Site | None]:
        """A chat started with this payload: ("ok", its site), or the reason it cannot be
        used ("expired", "reused" or "invalid") and None. A single-use link is used up."""
        try:
            info = self.verify(payload, consume=True)
        except LinkError as error:
            return (error.reason if error.reason in ("expired", "reused") else "invalid"), None
        return "ok", info.site

    def verify(self, payload: str, consume: bool = True) -> LinkInfo:
        """Check a payload; with ``consume``, a single-use payload is used up.

        Raises LinkError with reason ``invalid`` (not ours, forged or changed), ``expired``,
        ``unknown_site`` (the site has left the sites file) or ``reused`` (a single-use link
        that has been used).
        """
        data = _b64decode(payload) if isinstance(payload, str) else None
        if data is None or len(data) != PAYLOAD_BYTES:
            raise LinkError("invalid", "this is not a link payload")
        body, mac = data[: _HEADER.size], data[_HEADER.size :]
        if not hmac.compare_digest(mac, self._mac(body)):
            raise LinkError("invalid", "the link's signature does not match")
        version, flags, site_ref, expiry, nonce = _HEADER.unpack(body)
        if version != VERSION or flags & ~FLAG_SINGLE_USE:
            raise LinkError("invalid", "the link was made by a different version")
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if self._now() >= expires_at:
            raise LinkError("expired", "the link has expired")
        site = self._by_ref.get(site_ref)
        if site is None:
            raise LinkError("unknown_site", "the link's site is no longer in the sites file")
        single_use = bool(flags & FLAG_SINGLE_USE)
        if single_use:
            self._use(nonce, consume)
        return LinkInfo(site=site, expires_at=expires_at, single_use=single_use)

    def _use(self, nonce: bytes, consume: bool) -> None:
        """Refuse a used single-use nonce; record it when consuming (atomically)."""
        nonce_hash = self._nonce_hash(nonce)
        fresh = self.store.links.use_nonce(nonce_hash, iso(self._now()), consume)
        if not fresh:
            raise LinkError("reused", "this single-use link has been used")

    # -- addresses --------------------------------------------------------------------------

    def deep_link(self, payload: str) -> str:
        """The Telegram link that opens the bot with this payload."""
        return f"https://t.me/{self.telegram_username}?start={payload}"

    def web_link(self, payload: str) -> str | None:
        """The web chat link with this payload, or None when no web chat is configured."""
        if not self.web_chat_url:
            return None
        parts = urlsplit(self.web_chat_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "start"]
        query.append(("start", payload))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def public_link(self, payload: str) -> str:
        """The link for QR codes and posters: the web chat if one is configured (it works
        for everyone, with or without Telegram), else the Telegram deep link."""
        return self.web_link(payload) or self.deep_link(payload)

    def chat_address(self) -> str:
        """The chat's address for people who cannot scan a code (no scheme, no payload)."""
        if self.web_chat_url:
            parts = urlsplit(self.web_chat_url)
            return (parts.netloc + parts.path).rstrip("/")
        return f"t.me/{self.telegram_username}"

    # -- short codes ------------------------------------------------------------------------

    def short_code(self, payload: str, site_id: str, expires_at: datetime) -> str:
        """A new short code (``ABCD-2345``) for a payload, stored until it expires."""
        self.site(site_id)
        for _ in range(20):
            code = SHORT_CODES.new()
            if self.store.links.add_code(code, payload, site_id, iso(expires_at)):
                return format_code(code)
        raise RuntimeError("could not find a free short code")  # pragma: no cover

    def resolve_code(self, text: str, conversation_id: str = "") -> str | None:
        """The payload of a typed short code (any case, spaces, dash or not), or None.

        An expired code still resolves: ``verify`` then says the link has expired, which is
        a clearer answer for the person than "unknown code". Text shaped like a code counts
        against the chat's and everyone's limits; past them it is not looked up at all.
        """
        code = normalise_code(text)
        if code is None:
            return None
        if not self._code_tries.allow(conversation_id) or not self._all_code_tries.allow("*"):
            log.info("short codes: a typed code was not looked up (too many tries)")
            return None
        return self.store.links.payload_of_code(code)

    def prune_codes(self, older_than: timedelta = timedelta(days=30)) -> int:
        """Delete short codes that expired more than ``older_than`` ago; how many went."""
        return self.store.links.prune_codes(iso(self._now() - older_than))
