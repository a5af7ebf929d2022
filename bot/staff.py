"""Staff enrolment and anonymous per-site numbers.

A site's admin makes a one-time enrolment code (``mutual-aid-bot staff invite``) and gives it
to a member of staff, who types it to the bot. The code is stored only as a keyed hash. Wrong
codes are slowed down per conversation (a lockout that doubles each time, up to a day) and
across all conversations (many fake chats guessing at once lock enrolment for a while).

Enrolled staff can see counts for their site: chats started from its links, chats handed to
its referral form, and which field names were shared with the form. Never who, never values.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.clock import iso, parse_iso, utc_now
from bot.codes import CodeFormat
from bot.knowledge import Site
from bot.pseudonym import Pseudonymiser
from bot.store import TrackerStore

# No 0/O, 1/I/L, or U: nothing that is easy to misread or mistype.
ENROLMENT_CODES = CodeFormat(length=10, group=5)
CODE_LENGTH = ENROLMENT_CODES.length
SIGN_PURPOSE = "staff-invite"

# Per conversation: this many wrong codes within WINDOW locks it for WINDOW, then twice as
# long each time it happens again, up to MAX_LOCKOUT. A quiet day (no wrong code and no
# lockout for MAX_LOCKOUT) starts the doubling again.
MAX_WRONG = 5
WINDOW = timedelta(minutes=15)
MAX_LOCKOUT = timedelta(hours=24)
# Attempts older than this are deleted and not replayed. Under a steady attack the lockout
# reaches a day after 8 lockouts, so this keeps enough history to stay at the cap.
KEEP_ATTEMPTS = timedelta(days=14)
# Across all conversations: more than this many wrong codes within GLOBAL_WINDOW locks
# enrolment for GLOBAL_LOCKOUT for every chat that has sent a wrong code itself lately.
GLOBAL_MAX_WRONG = 50
GLOBAL_WINDOW = timedelta(minutes=15)
GLOBAL_LOCKOUT = timedelta(minutes=15)
# Expired invites are deleted this long after they expire.
KEEP_INVITES = timedelta(days=30)


def normalise_code(code: str) -> str | None:
    """The code as stored (upper case, no spaces or dashes), or None if it cannot be one."""
    return ENROLMENT_CODES.normalise(code)


def format_code(code: str) -> str:
    """A normalised code shown in groups, like ABCDE-FGHJK."""
    return ENROLMENT_CODES.show(code)


class WindowCounts(BaseModel):
    """One count over three time windows."""

    model_config = ConfigDict(frozen=True)

    last_7_days: int = 0
    last_30_days: int = 0
    all_time: int = 0


class SiteStats(BaseModel):
    """Anonymous numbers for one site."""

    model_config = ConfigDict(frozen=True)

    site_id: str
    starts: WindowCounts
    handoffs: WindowCounts
    # Crisis signposting, counted with no text and no conversation id (hazard log).
    crisis: WindowCounts = WindowCounts()
    # Field names shared with the referral form (all time), most used first.
    fields: dict[str, int]


class StaffService:
    """Enrol staff with one-time codes, and give them their site's numbers."""

    def __init__(
        self,
        store: TrackerStore,
        key: bytes,
        sites: list[Site],
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self._signer = Pseudonymiser(key)
        self._sites = {site.id: site for site in sites}
        self._clock = now

    def _now(self) -> datetime:
        moment = self._clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _hash(self, normalised: str) -> str:
        return self._signer.sign(SIGN_PURPOSE, normalised.encode()).hex()

    # Invites

    def invite(self, site_id: str, expires: timedelta = timedelta(days=7)) -> str:
        """Make a one-time enrolment code for a site; shown once, stored only hashed."""
        if site_id not in self._sites:
            raise KeyError(site_id)
        if expires <= timedelta(0):
            raise ValueError("an invite must expire in the future")
        now = self._now()
        tables = self.store.staff
        with tables.transaction():
            tables.prune_invites(iso(now - KEEP_INVITES))
            while True:
                code = ENROLMENT_CODES.new()
                code_hash = self._hash(code)
                if not tables.invite_exists(code_hash):
                    break
            tables.add_invite(code_hash, site_id, iso(now + expires))
        self.store.record_event("staff_invite", site_id)
        return format_code(code)

    # Enrolment

    def enrol(self, conversation_id: str, code: str) -> Site | None:
        """Enrol a conversation with a code; the site, or None (wrong, used, expired, locked)."""
        now = self._now()
        if normalise_code(code) is None:
            # Not even shaped like a code ("/staff please help me"): not a guess, so it is
            # neither counted nor refused; the person gets the bot's ordinary answer.
            return None
        tables = self.store.staff
        with tables.transaction():
            tables.prune_attempts(iso(now - KEEP_ATTEMPTS))
            if self._locked_until(conversation_id, now) is not None:
                return None  # refused without looking at the code
            site = self._redeem(conversation_id, code, now)
            if site is None:
                tables.add_attempt(conversation_id, iso(now))
                return None
        self.store.record_event("staff_enrol", site.id)
        return site

    def _redeem(self, conversation_id: str, code: str, now: datetime) -> Site | None:
        normalised = normalise_code(code)
        if normalised is None:
            return None
        code_hash = self._hash(normalised)
        tables = self.store.staff
        with tables.transaction():  # nested: a savepoint inside enrol's transaction
            row = tables.invite(code_hash)
            if row is None or not hmac.compare_digest(row["code_hash"], code_hash):
                return None
            site = self._sites.get(row["site_id"])
            if row["used_at"] is not None or parse_iso(row["expires_at"]) <= now or site is None:
                return None
            # Mark used only if still unused, so one code can never enrol twice.
            if not tables.use_invite(code_hash, iso(now)):
                return None
            tables.enrol(conversation_id, site.id, iso(now))
            tables.clear_attempts(conversation_id)
        return site

    def locked_until(self, conversation_id: str) -> datetime | None:
        """When enrolment opens again for this conversation, or None if it is open now."""
        with self.store.staff.transaction():
            return self._locked_until(conversation_id, self._now())

    def _locked_until(self, conversation_id: str, now: datetime) -> datetime | None:
        ends = [self._conversation_lock(conversation_id, now)]
        # A flood of wrong codes slows the guessers, not staff: while it lasts, only chats
        # that have themselves sent a wrong code lately are held back, so fake senders
        # cannot lock a real member of staff out (each new sender gets one guess).
        if self._recent_wrong(conversation_id, now):
            ends.append(self._global_lock(now))
        ends = [end for end in ends if end is not None and end > now]
        return max(ends) if ends else None

    def _recent_wrong(self, conversation_id: str, now: datetime) -> bool:
        since = iso(now - GLOBAL_WINDOW - GLOBAL_LOCKOUT)
        return bool(self.store.staff.attempt_times(since, conversation_id))

    def _conversation_lock(self, conversation_id: str, now: datetime) -> datetime | None:
        """The end of this conversation's latest lockout, replaying its wrong attempts."""
        rows = self.store.staff.attempt_times(iso(now - KEEP_ATTEMPTS), conversation_id)
        strikes = 0
        lock_end: datetime | None = None
        recent: list[datetime] = []
        previous: datetime | None = None
        for text in rows:
            at = parse_iso(text)
            quiet_since = max(previous, lock_end) if previous and lock_end else previous
            if quiet_since is not None and at - quiet_since >= MAX_LOCKOUT:
                strikes, recent = 0, []
            previous = at
            if lock_end is not None and at < lock_end:
                continue  # recorded while locked (only by a race); not counted again
            recent = [*(t for t in recent if at - t < WINDOW), at]
            if len(recent) >= MAX_WRONG:
                lock_end = at + min(WINDOW * 2**strikes, MAX_LOCKOUT)
                strikes += 1
                recent = []
        return lock_end

    def _global_lock(self, now: datetime) -> datetime | None:
        """The end of an everyone-lockout that is still running, if any."""
        since = iso(now - GLOBAL_WINDOW - GLOBAL_LOCKOUT)
        rows = self.store.staff.attempt_times(since)
        if len(rows) <= GLOBAL_MAX_WRONG:
            return None
        times = [parse_iso(text) for text in rows]
        lock_end: datetime | None = None
        for index in range(GLOBAL_MAX_WRONG, len(times)):
            if times[index] - times[index - GLOBAL_MAX_WRONG] < GLOBAL_WINDOW:
                lock_end = times[index] + GLOBAL_LOCKOUT
        return lock_end

    # Enrolled staff

    def site_of(self, conversation_id: str) -> Site | None:
        """The site a conversation is enrolled for; None if not enrolled or the site is gone."""
        site_id = self.store.staff.site_id_of(conversation_id)
        return self._sites.get(site_id) if site_id else None

    def forget(self, conversation_id: str) -> None:
        """Un-enrol a conversation.

        Its wrong enrolment attempts stay until they expire (KEEP_ATTEMPTS): forgetting a
        chat must not forget its failures, or /forget would reset the lockout and allow
        unlimited guesses. They hold only the pseudonymous conversation id and a time.
        """
        self.store.staff.unenrol(conversation_id)

    # Numbers

    def stats(self, site_id: str) -> SiteStats:
        """Anonymous counts for a site from the events table."""
        now = self._now()
        week, month = iso(now - timedelta(days=7)), iso(now - timedelta(days=30))
        totals = self.store.staff.event_counts(site_id, week, month)
        counts = {
            kind: WindowCounts(last_7_days=last7, last_30_days=last30, all_time=total)
            for kind, total, last7, last30 in totals
        }
        fields: Counter[str] = Counter()
        for names in self.store.staff.handoff_fields(site_id):
            fields.update(set(names))
        return SiteStats(
            site_id=site_id,
            starts=counts.get("start", WindowCounts()),
            handoffs=counts.get("handoff", WindowCounts()),
            crisis=counts.get("crisis", WindowCounts()),
            fields=dict(sorted(fields.items(), key=lambda item: (-item[1], item[0]))),
        )


# Minimal labels for format_stats; pass your own (for example from dialogues/) to replace them.
STATS_LABELS = {
    "title": "Numbers for {site}",
    "starts": "Chats started from your links",
    "handoffs": "Chats sent on to your referral form",
    "crisis": "Times the bot gave emergency help numbers",
    "fields": "Details people chose to share with the form",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "all_time": "All time",
    "none": "None yet",
}


def format_stats(stats: SiteStats, site_name: str, labels: dict[str, str] | None = None) -> str:
    """The numbers in plain English, one short line each."""
    text = {**STATS_LABELS, **(labels or {})}
    lines = [text["title"].format(site=site_name), ""]
    windows = (("starts", stats.starts), ("handoffs", stats.handoffs), ("crisis", stats.crisis))
    for key, counts in windows:
        lines.append(text[key])
        for window in ("last_7_days", "last_30_days", "all_time"):
            lines.append(f"- {text[window]}: {getattr(counts, window)}")
        lines.append("")
    lines.append(text["fields"])
    if stats.fields:
        lines.extend(f"- {name.replace('_', ' ')}: {n}" for name, n in stats.fields.items())
    else:
        lines.append(f"- {text['none']}")
    return "\n".join(lines)
