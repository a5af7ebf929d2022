"""Pydantic models of knowledge/: mutual-aid options, support lines, crisis patterns, sites.

Every fact the bot states (a phone number, a web address, opening hours) carries where it
was checked and when, so an out-of-date fact can be found and re-checked.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, HttpUrl, field_validator, model_validator

from bot.yamlfiles import (
    ContentError,
    FieldError,
    Strict,
    fast_validate,
    line_of,
    load_model,
    read_yaml,
    require_unique,
    validate_data,
)

_ID = r"^[a-z][a-z0-9_]*$"


class Fact(Strict):
    """A checked fact: its value, where it was checked and when."""

    value: str = Field(min_length=1)
    source: str = Field(min_length=3)
    checked: date


class FlagFact(Strict):
    """A checked yes-or-no fact. Unknown is not "no": an unknown fact is null, with the
    reason under the option's ``gaps``, and a card never shows it as "no"."""

    value: bool
    source: str = Field(min_length=3)
    checked: date

    @model_validator(mode="after")
    def _checked_source(self) -> FlagFact:
        # A [U] (unverified) belief is not a fact; "no" said on no evidence is the worst case.
        if not re.search(r"\[(V|S)[\]/]", self.source):
            raise ValueError("a yes/no fact needs a [V] or [S] source; if unknown, make it null")
        return self


# The facts an option may leave unknown; each unknown one is explained under ``gaps``.
GapField = Literal["website", "online", "in_person_uk", "helpline", "meeting_finder"]


class MeetingFinder(Fact):
    """A group's own meeting list, and how to use it when the facts file says how."""

    how: str | None = Field(default=None, min_length=10)


class Helpline(Strict):
    """A phone line and when it is answered."""

    number: Fact
    hours: Fact | None = None


Approach = Literal["twelve-step", "secular", "buddhist-inspired", "faith-based", "not-a-group"]
Audience = Literal["self", "family", "young_people"]


class MutualAidOption(Strict):
    """One mutual-aid option (or, marked as such, a service that is not mutual aid)."""

    id: str = Field(pattern=_ID)
    name: str
    short_name: str
    # A few words for the short list on a phone screen ("12-step group for drinking").
    tagline: str = Field(min_length=5, max_length=60)
    mutual_aid: bool = True
    approach: Approach
    for_whom: list[Audience] = Field(min_length=1)
    substances: list[str] = Field(min_length=1)
    summary: str = Field(min_length=20)
    first_meeting: str = Field(min_length=20)
    # Three-valued: a checked yes, a checked no, or null (unknown, the reason under gaps).
    online: FlagFact | None
    in_person_uk: FlagFact | None
    cost: str
    # The organisation's own site; null (with the reason under gaps) when none is checked.
    website: Fact | None
    # Every option file names these fields (parity): a fact, or null with the reason in gaps.
    helpline: Helpline | None
    meeting_finder: MeetingFinder | None
    gaps: dict[GapField, str] = {}
    gambling_only: bool = False

    @model_validator(mode="after")
    def _gaps_explained(self) -> MutualAidOption:
        for field in ("website", "online", "in_person_uk", "helpline", "meeting_finder"):
            if getattr(self, field) is None and len(self.gaps.get(field, "")) < 10:
                raise ValueError(f"{field} is null: say why under gaps.{field}")
            if getattr(self, field) is not None and field in self.gaps:
                raise ValueError(f"gaps.{field} is given, but {field} is filled in")
        return self


class UnofficialHost(Strict):
    """A web host that is never shown as an organisation's own address, and why."""

    host: str = Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    reason: str = Field(min_length=5)


class OfficialSourcesFile(Strict):
    """knowledge/official_sources.yml: hosts a card must never show."""

    not_official: list[UnofficialHost] = Field(min_length=1)

    def unofficial(self, url: str) -> UnofficialHost | None:
        """The rule a URL breaks, if its host is (under) one that is not official."""
        host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
        for rule in self.not_official:
            if host == rule.host or host.endswith("." + rule.host):
                return rule
        return None


class CardWords(Strict):
    """knowledge/card_words.yml: the parts of a card that depend on what is known."""

    online_yes: str
    online_no: str
    in_person_yes: str
    in_person_no: str
    unknown_see_finder: str = Field(pattern=r"\{url\}")
    unknown_see_website: str
    unknown_no_website: str
    website: str = Field(pattern=r"\{url\}")
    no_website: str


class SupportLine(Strict):
    """A support or emergency line and what it is for."""

    id: str = Field(pattern=_ID)
    name: str
    contact: Fact
    hours: Fact
    what_for: str
    # Lines about one topic (gambling) are shown only when that topic comes up.
    # safeguarding lines appear only in the crisis replies that need them.
    topic: Literal["general", "gambling", "safeguarding"] = "general"


class SupportLinesFile(Strict):
    """knowledge/support_lines.yml."""

    lines: list[SupportLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SupportLinesFile:
        require_unique([line.id for line in self.lines], "lines", "id", "support line id")
        return self


class ApproachInfo(Strict):
    """How one kind of group works, said once for every group of that kind."""

    id: Approach
    label: str
    description: str


class ApproachesFile(Strict):
    """knowledge/approaches.yml."""

    approaches: list[ApproachInfo] = Field(min_length=1)


Grade = Literal["strong evidence", "evidence", "emerging evidence"]


class Finding(Strict):
    """One finding of the evidence review, in plain words, with its grade."""

    id: str = Field(pattern=_ID)
    statement: str = Field(min_length=10)
    grade: Grade
    section: str = Field(min_length=3)


class Recommendation(Strict):
    """One of the review's recommendations (the review gives these no grade)."""

    id: str = Field(pattern=_ID)
    statement: str = Field(min_length=10)
    section: str = Field(min_length=3)


class EvidenceFile(Strict):
    """knowledge/evidence.yml."""

    source: str
    findings: list[Finding] = Field(min_length=1)
    recommendations: list[Recommendation] = []


class FramingRule(Strict):
    """Wording the bot never uses, and why."""

    pattern: str
    reason: str
    instead: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc
        return pattern


class ReadabilityException(Strict):
    """A response allowed above the reading-age limit, with the reason."""

    response: str = Field(pattern=r"^utter_")
    reason: str = Field(min_length=10)


class LanguageFile(Strict):
    """knowledge/language.yml: the framing word list and the reading-age limit."""

    framing: list[FramingRule] = Field(min_length=1)
    max_grade: float = Field(gt=0, le=12)
    readability_exceptions: list[ReadabilityException] = []
    # Cheerful words ("good to hear") fit only a reply to the bot's own "how are you?": said
    # to anything else they can answer a hidden crisis with cheer.
    cheerful: list[FramingRule] = []
    cheerful_allowed: list[str] = []


class CrisisCategory(Strict):
    """One kind of crisis, the words that signal it, and the reply it gets."""

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=3)
    response: str = Field(pattern=r"^utter_")
    # The support line whose number must come first in the reply (999 for immediate danger).
    first_line: str = Field(pattern=_ID)
    # The same kind of crisis about the other person (overdose: the writer or someone else);
    # the classifier decides which of the two a message is about.
    counterpart: str | None = None
    # When the classifier reads a more urgent kind than the patterns found, the reply may
    # move to it only if it is listed here (empty: any more urgent kind). A thought of
    # suicide may become a plan or an overdose, never a threat to someone else.
    may_become: list[str] = []
    patterns: list[str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc
        return patterns


class CrisisClassifierSettings(Strict):
    """The trained classifier's threshold, chosen for recall on the held-out file."""

    threshold: float = Field(gt=0, lt=1)
    # Word windows over long run-on sentences count for this share of their probability.
    window_weight: float = Field(default=1.0, gt=0, le=1)


class CrisisFile(Strict):
    """knowledge/crisis.yml: checked before anything else on every message."""

    classifier: CrisisClassifierSettings
    categories: list[CrisisCategory] = Field(min_length=1)
    past: list[str] = []
    ignore: list[str] = []

    @model_validator(mode="after")
    def _consistent(self) -> CrisisFile:
        ids = [category.id for category in self.categories]
        require_unique(ids, "categories", "id", "category")
        for index, category in enumerate(self.categories):
            for other in category.may_become:
                if other not in ids:
                    raise FieldError(
                        ("categories", index, "may_become"), f"'{other}' is not a category"
                    )
            if category.counterpart is not None and category.counterpart not in ids:
                raise FieldError(
                    ("categories", index, "counterpart"),
                    f"counterpart '{category.counterpart}' is not a category",
                )
        return self

    def category(self, category_id: str) -> CrisisCategory:
        """The category with this id."""
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)


# The answers a person may choose to share with their site's referral form (prefill keys).
SHAREABLE_FIELDS = ("interests", "contact_method", "best_time")
_QUERY_PARAM = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,100}$")


class Site(Strict):
    """A GP practice or probation office that starts chats and receives referrals."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    kind: Literal["gp_practice", "probation"]
    # Capped so that no reply or button naming the site can go over Telegram's limits.
    name: str = Field(min_length=2, max_length=80)
    referral_form_url: HttpUrl
    prefill: dict[str, str] = {}
    contact_phone: str | None = Field(default=None, max_length=40)
    urgent_route: str | None = Field(default=None, max_length=300)

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        if not name.isprintable() or name != name.strip():
            raise ValueError("the name must be plain text on one line")
        return name

    @field_validator("referral_form_url", mode="before")
    @classmethod
    def _plain_host(cls, url: object) -> object:
        # Checked on the text as written: pydantic turns a non-ASCII host into punycode,
        # which would hide a look-alike address (a Cyrillic "а" in "nhs.uk").
        if isinstance(url, str):
            host = urlsplit(url.strip()).hostname or ""
            if not host.isascii():
                shown = host.encode("idna").decode("ascii") if host else host
                raise ValueError(
                    f"the form's host must be plain ASCII (it is {shown!r} as written in "
                    "punycode); use the address exactly as the practice publishes it"
                )
        return url

    @field_validator("referral_form_url")
    @classmethod
    def _https(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme != "https":
            raise ValueError("the referral form must be an https:// address")
        if url.username or url.password:
            raise ValueError("the referral form's address must not hold a user name or password")
        return url

    @model_validator(mode="after")
    def _prefill_not_in_query(self) -> Site:
        already = {name for name, _ in parse_qsl(self.referral_form_url.query or "")}
        for key, param in self.prefill.items():
            if param in already:
                raise FieldError(
                    ("prefill", key),
                    f"'{param}' is already in the form's address; a shared answer would "
                    "clash with it",
                )
        return self

    @field_validator("prefill")
    @classmethod
    def _shareable(cls, prefill: dict[str, str]) -> dict[str, str]:
        allowed = ", ".join(SHAREABLE_FIELDS)
        for key, param in prefill.items():
            if key not in SHAREABLE_FIELDS:
                raise FieldError((key,), f"'{key}' is not a shareable field (use: {allowed})")
            if not _QUERY_PARAM.match(param):
                raise FieldError((key,), f"'{param}' is not a form query parameter name")
        return prefill


class SitesFile(Strict):
    """The sites file: a top-level ``sites:`` list."""

    sites: list[Site] = []

    @model_validator(mode="after")
    def _unique(self) -> SitesFile:
        require_unique([site.id for site in self.sites], "sites", "id", "site id")
        return self


def load_options(folder: Path) -> list[MutualAidOption]:
    """Load every option file in knowledge/options/, one YAML file per option."""
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise ContentError(folder, None, "no option files found")
    options: list[MutualAidOption] = []
    for path in files:
        option = fast_validate(path, MutualAidOption) or validate_data(
            read_yaml(path), MutualAidOption, path
        )
        if option.id != path.stem:
            raise ContentError(
                path,
                line_of(read_yaml(path), ("id",)),
                f"id: '{option.id}' must match the file name",
            )
        options.append(option)
    return options


class WebChatWords(Strict):
    """knowledge/web_chat.yml: the labels around the web chat page."""

    title: str
    heading: str
    intro: str
    help_now: str
    help_heading: str
    help_intro: str
    skip_link: str
    log_label: str
    input_label: str
    send: str
    sending: str
    you_said: str
    bot_said: str
    buttons_label: str
    opens_new_tab: str
    privacy: str
    delete_chat: str
    deleted: str
    offline: str
    too_fast: str
    no_script: str


class Knowledge:
    """All of knowledge/, loaded and validated once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def options(self) -> list[MutualAidOption]:
        """Every mutual-aid option and related service."""
        return load_options(self.folder / "options")

    @cached_property
    def options_by_id(self) -> dict[str, MutualAidOption]:
        """Options keyed by id."""
        return {option.id: option for option in self.options}

    @cached_property
    def support_lines(self) -> list[SupportLine]:
        """Emergency and support lines."""
        return load_model(self.folder / "support_lines.yml", SupportLinesFile).lines

    @cached_property
    def crisis(self) -> CrisisFile:
        """Crisis categories and their patterns."""
        return load_model(self.folder / "crisis.yml", CrisisFile)

    @cached_property
    def approaches(self) -> dict[str, ApproachInfo]:
        """Descriptions of each kind of group, keyed by approach."""
        items = load_model(self.folder / "approaches.yml", ApproachesFile).approaches
        return {item.id: item for item in items}

    @cached_property
    def evidence(self) -> EvidenceFile:
        """The review's findings with their grades."""
        return load_model(self.folder / "evidence.yml", EvidenceFile)

    @cached_property
    def official_sources(self) -> OfficialSourcesFile:
        """Hosts that are never an organisation's own address."""
        return load_model(self.folder / "official_sources.yml", OfficialSourcesFile)

    @cached_property
    def card_words(self) -> CardWords:
        """The words of a card that depend on which facts are known."""
        return load_model(self.folder / "card_words.yml", CardWords)

    @cached_property
    def language(self) -> LanguageFile:
        """Framing rules and the reading-age limit."""
        return load_model(self.folder / "language.yml", LanguageFile)

    @cached_property
    def web_chat(self) -> WebChatWords:
        """The labels around the web chat page."""
        return load_model(self.folder / "web_chat.yml", WebChatWords)

    def load_all(self) -> None:
        """Load every file now, so errors show at start-up rather than mid-conversation."""
        _ = self.options, self.support_lines, self.crisis, self.approaches
        _ = self.evidence, self.language, self.official_sources, self.card_words
        _ = self.web_chat
        for option in self.options:
            if option.approach not in self.approaches:
                raise ContentError(
                    self.folder / "approaches.yml", None, f"no entry for '{option.approach}'"
                )


def load_sites(path: Path) -> list[Site]:
    """Load and validate a sites file."""
    return load_model(path, SitesFile).sites
