"""Actions that list the options, show one option's card, and compare kinds of group."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import button
from actions.cards import meeting_ways, website_line, with_website_first
from actions.knowledge_access import knowledge, options_for, phone_line, shuffled
from bot.knowledge import MutualAidOption


def audience_of(tracker: Tracker) -> str:
    """Who the listing is for: the person (self) or family and friends.

    The intent decides first: a worry about one's own use stays the person's even when
    someone else is named ("the missus says I drink too much"). Otherwise a message about
    someone else ("my son is on the gear") takes the families path.
    """
    intent = tracker.get_intent_of_latest_message()
    who = [str(w) for w in tracker.get_latest_entity_values("who")]
    if intent == "family_support":
        return "family"
    if intent == "own_use":
        return "self"
    if any(w != "self" for w in who):
        return "family"
    if "self" in who:
        return "self"
    return "family" if tracker.get_slot("audience") == "family" else "self"


# What each substance id matches in an option's `substances` list: its own names first
# (a specific fit), then the general ones.
SPECIFIC: dict[str, tuple[str, ...]] = {
    "alcohol": ("alcohol",),
    "cocaine": ("cocaine", "crack"),
    "cannabis": ("cannabis",),
    "other": ("crystal meth", "other drugs"),
    "gambling": ("gambling",),
}
GENERAL: dict[str, tuple[str, ...]] = {
    "cocaine": ("any drug", "other drugs"),
    "cannabis": ("any drug",),
    "opioids": ("any drug",),
    "benzodiazepines": ("any drug",),
    "ketamine": ("any drug",),
    "spice": ("any drug",),
    "other": ("any drug",),
    "gambling": ("gambling and other habits",),
}


def fit(option: MutualAidOption, substance: str | None) -> int:
    """2 for a group about this substance itself, 1 for one that takes it in, else 0."""
    if not substance:
        return 0
    names = {s.lower() for s in option.substances}
    if names & set(SPECIFIC.get(substance, ())):
        return 2
    return 1 if names & set(GENERAL.get(substance, ())) else 0


def substance_of(tracker: Tracker) -> str | None:
    """The substance named now, or earlier in the chat (an id, never the words typed)."""
    named = next(tracker.get_latest_entity_values("substance"), None)
    value = named or tracker.get_slot("substance")
    return str(value) if value else None


def by_fit(options: list[MutualAidOption], substance: str | None) -> list[MutualAidOption]:
    """The options that fit the substance first; the chat's own order otherwise kept."""
    return sorted(options, key=lambda option: -fit(option, substance))


def title_of(option: MutualAidOption) -> str:
    """The name, with the short name after it when that is different."""
    if option.short_name == option.name:
        return option.name
    return f"{option.name} ({option.short_name})"


# The short list fits a phone screen: issue 10 caps it at 6 buttons, "See all groups" one.
SHORT_LIST_BUTTONS = 5
SEE_ALL = {"title": "See all groups", "payload": '/list_options{"list_scope": "all"}'}


def covering(audience: str, substance: str | None) -> list[MutualAidOption]:
    """Every option for this audience that takes in the substance (all of them if none).

    Gambling-only groups are shown only when gambling comes up.
    """
    options = [
        option
        for option in knowledge().options
        if audience in option.for_whom and (substance == "gambling" or not option.gambling_only)
    ]
    return [option for option in options if fit(option, substance) > 0] if substance else options


def option_button(option: MutualAidOption) -> dict[str, str]:
    """A button that opens the option's card."""
    return button(option.short_name, "option_details", option=option.id)


def topic_lines(topic: str) -> str:
    """The support lines about one topic (gambling), one per line."""
    return "\n".join(
        f"- {line.name}: {line.contact.value} ({line.hours.value})"
        for line in knowledge().support_lines
        if line.topic == topic
    )


class ActionListOptions(Action):
    """The options that fit what the person said, short; every option, one tap away.

    When the substance or the person (family) is known, a short list names every option
    that fits, one line each, in this chat's fair order, with a few buttons and "See all
    groups". Otherwise, or on "See all groups", the full list. Options with no checked
    website come after those with one.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_list_options"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the short or the full list, with buttons."""
        audience = audience_of(tracker)
        substance = self.substance(tracker)
        see_all = "all" in [str(v) for v in tracker.get_latest_entity_values("list_scope")]
        slot = [{"event": "slot", "timestamp": None, "name": "audience", "value": audience}]
        known = substance is not None or audience == "family"
        if known and not see_all:
            self.short_list(dispatcher, tracker, audience, substance)
        else:
            self.full_list(dispatcher, tracker, audience, substance)
        return slot

    def substance(self, tracker: Tracker) -> str | None:
        """The substance the list is about."""
        return substance_of(tracker)

    def ordered(
        self, tracker: Tracker, audience: str, substance: str | None
    ) -> list[MutualAidOption]:
        """This chat's fair order, groups about the substance itself first."""
        eligible = shuffled(covering(audience, substance), tracker.sender_id)
        return with_website_first(by_fit(eligible, substance))

    def short_list(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        audience: str,
        substance: str | None,
    ) -> None:
        """Every option that fits, one short line each; buttons for the first few."""
        fitting = self.ordered(tracker, audience, substance)
        intro = "utter_options_short_family" if audience == "family" else "utter_options_short"
        dispatcher.utter_message(response=intro)
        lines = [f"- {o.short_name}: {o.tagline}" for o in fitting]
        if substance == "gambling":
            lines.append(topic_lines("gambling"))
        dispatcher.utter_message(text="\n".join(lines))
        buttons = [option_button(o) for o in fitting[:SHORT_LIST_BUTTONS]]
        dispatcher.utter_message(response="utter_options_more", buttons=[*buttons, SEE_ALL])

    def full_list(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        audience: str,
        substance: str | None,
    ) -> None:
        """Every option for this audience with its summary, and a button for each."""
        options = covering(audience, None)
        if substance == "gambling":
            options += [o for o in covering(audience, "gambling") if o.gambling_only]
        eligible = with_website_first(by_fit(shuffled(options, tracker.sender_id), substance))
        groups = [o for o in eligible if o.mutual_aid]
        services = [o for o in eligible if not o.mutual_aid]
        intro = "utter_options_intro_family" if audience == "family" else "utter_options_intro"
        dispatcher.utter_message(response=intro)
        dispatcher.utter_message(text="\n".join(f"- {title_of(o)}: {o.summary}" for o in groups))
        if services:
            dispatcher.utter_message(response="utter_not_mutual_aid_note")
            dispatcher.utter_message(text="\n".join(f"- {o.name}: {o.summary}" for o in services))
        buttons = [option_button(o) for o in eligible]
        dispatcher.utter_message(response="utter_options_more", buttons=buttons)


class ActionOptionDetails(Action):
    """Show the card of the option the person chose."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_option_details"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the option's card, or the list if it is not known."""
        option_id = next(tracker.get_latest_entity_values("option"), None) or tracker.get_slot(
            "option"
        )
        option = knowledge().options_by_id.get(str(option_id)) if option_id else None
        if option is None:
            dispatcher.utter_message(response="utter_option_unknown")
            return [{"event": "followup", "timestamp": None, "name": "action_list_options"}]
        dispatcher.utter_message(
            response="utter_option_card",
            title=title_of(option),
            summary=option.summary,
            first_meeting=option.first_meeting,
            meetings=meeting_ways(option),
            cost=option.cost,
            website=website_line(option),
            helpline=phone_line(option),
        )
        viewed = list(tracker.get_slot("viewed_options") or [])
        if option.id not in viewed:
            viewed.append(option.id)
        return [{"event": "slot", "timestamp": None, "name": "viewed_options", "value": viewed}]


class ActionCompare(Action):
    """Compare the kinds of group (12-step, non-religious, and others), all with equal weight."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_compare"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One line per kind of group with its groups' short names; then a closing line."""
        base = knowledge()
        groups = [o for o in shuffled(options_for("self"), tracker.sender_id) if o.mutual_aid]
        kinds: dict[str, list[str]] = {}
        for option in groups:
            kinds.setdefault(option.approach, []).append(option.short_name)
        dispatcher.utter_message(response="utter_compare_intro")
        lines = []
        for approach, names in kinds.items():
            info = base.approaches[approach]
            lines.append(f"- {info.label}: {info.description} ({', '.join(names)})")
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(response="utter_compare_outro")
        return []


class ActionGambling(ActionListOptions):
    """Support for gambling: every option that covers it, and the gambling helpline."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_gambling"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The short list for gambling, for the person or for family and friends."""
        audience = audience_of(tracker)
        dispatcher.utter_message(response="utter_gambling_intro")
        self.short_list(dispatcher, tracker, audience, "gambling")
        return [{"event": "slot", "timestamp": None, "name": "audience", "value": audience}]
