"""The parts of an option's card that depend on what is known about it.

Unknown is not "no": a card states a yes or a no only when it is checked, and where a fact
is unknown it says where to look instead (knowledge/card_words.yml).
"""

from __future__ import annotations

from actions.knowledge_access import knowledge
from bot.knowledge import MutualAidOption


def meeting_ways(option: MutualAidOption) -> str:
    """What is checked about online and in-person meetings, or where to look instead."""
    words = knowledge().card_words
    lines = []
    if option.online is not None:
        lines.append(words.online_yes if option.online.value else words.online_no)
    if option.in_person_uk is not None:
        lines.append(words.in_person_yes if option.in_person_uk.value else words.in_person_no)
    if option.online is None or option.in_person_uk is None:
        if option.meeting_finder is not None:
            lines.append(words.unknown_see_finder.format(url=option.meeting_finder.value))
        elif option.website is not None:
            lines.append(words.unknown_see_website)
        else:
            lines.append(words.unknown_no_website)
    return "\n".join(lines)


def website_line(option: MutualAidOption) -> str:
    """The organisation's own website, or that none has been checked."""
    words = knowledge().card_words
    if option.website is None:
        return words.no_website
    return words.website.format(url=option.website.value)


def with_website_first(options: list[MutualAidOption]) -> list[MutualAidOption]:
    """Options with a checked website before those without; the order is otherwise kept."""
    return sorted(options, key=lambda option: option.website is None)


def meeting_kinds(option: MutualAidOption) -> str:
    """The kinds of meeting checked as running ("online and in person"), or nothing."""
    kinds = [
        words
        for flag, words in ((option.online, "online"), (option.in_person_uk, "in person"))
        if flag is not None and flag.value
    ]
    return " and ".join(kinds)
