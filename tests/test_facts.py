"""Every phone number, web address and opening time in knowledge/ is a checked fact.

Each carries its source and the date it was checked; the source must be a verified [V] or
secondary [S] entry of shared/facts (never an unverified [U] one). Where ../shared is here,
each number and address is also found in the facts file itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bot.knowledge import Fact, Knowledge
from bot.settings import PROJECT_DIR
from tests.conftest import shared_or_skip

KNOWLEDGE = Knowledge(PROJECT_DIR / "knowledge")
PHONE = re.compile(r"\d[\d ]{5,}\d")


def all_facts() -> Iterator[tuple[str, Fact]]:
    for option in KNOWLEDGE.options:
        where = f"options/{option.id}"
        if option.website:
            yield f"{where}.website", option.website
        if option.meeting_finder:
            yield f"{where}.meeting_finder", option.meeting_finder
        if option.helpline:
            yield f"{where}.helpline.number", option.helpline.number
            if option.helpline.hours:
                yield f"{where}.helpline.hours", option.helpline.hours
    for line in KNOWLEDGE.support_lines:
        yield f"support_lines/{line.id}.contact", line.contact
        yield f"support_lines/{line.id}.hours", line.hours


FACTS = list(all_facts())


@pytest.mark.parametrize(("where", "fact"), FACTS, ids=[w for w, _ in FACTS])
def test_every_fact_has_a_checked_source(where, fact):
    assert fact.source.startswith("facts/uk-mutual-aid.md"), where
    assert re.search(r"\[(V|S)\]", fact.source), f"{where}: source must be [V] or [S]"
    first_tag = re.search(r"\[(V|S|U)\]", fact.source)
    assert first_tag, where
    assert first_tag.group(1) in "VS", f"{where}: the first tag must be [V] or [S]"
    assert fact.checked.year >= 2026


FLAGS = [
    (f"options/{option.id}.{field}", flag)
    for option in KNOWLEDGE.options
    for field in ("online", "in_person_uk")
    if (flag := getattr(option, field)) is not None
]


@pytest.mark.parametrize(("where", "flag"), FLAGS, ids=[w for w, _ in FLAGS])
def test_every_yes_or_no_has_a_checked_source(where, flag):
    assert flag.source.startswith("facts/uk-mutual-aid.md"), where
    first_tag = re.search(r"\[(V|S|U)[\]/]", flag.source)
    assert first_tag, where
    assert first_tag.group(1) in "VS", f"{where}: the first tag must be [V] or [S]"


def test_web_addresses_are_https():
    for where, fact in FACTS:
        if "website" in where or "finder" in where:
            assert fact.value.startswith("https://"), where


def test_every_number_and_address_is_in_the_facts_file():
    facts_text = shared_or_skip("facts", "uk-mutual-aid.md").read_text(encoding="utf-8")
    digits_in_facts = re.sub(r"\D", "", facts_text)
    for where, fact in FACTS:
        for number in PHONE.findall(fact.value):
            assert re.sub(r"\D", "", number) in digits_in_facts, f"{where}: {number}"
        if fact.value.startswith("https://"):
            host = re.sub(r"^https://(www\.)?", "", fact.value).split("/")[0]
            assert host in facts_text, f"{where}: {host} is not in shared/facts"
