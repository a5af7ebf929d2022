"""Actions that list the options, show one option's card, and compare kinds of group."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge, options_for, phone_line, shuffled
from bot.knowledge import MutualAidOption


def audience_of(tracker: Tracker) -> str:
    """Who the listing is for: the person (self) or family and friends.

    A message about someone else's use ("my son is on the gear") takes the families path
    whatever intent it was read as; one about the person's own use takes theirs.
    """
    intent = tracker.get_intent_of_latest_message()
    who = [str(w) for w in tracker.get_latest_entity_values("who")]
    if intent == "family_support" or any(w != "self" for w in who):
        return "family"
    if intent == "own_use" or "self" in who:
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


def yes_no(value: bool) -> str:
    """A plain yes or no."""
    return "yes" if value else "no"


class ActionListOptions(Action):
    """List every option that fits, each in the same shape, in this chat's order."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_list_options"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the intro, the groups, any services that are not groups, and buttons."""
        audience = audience_of(tracker)
        # Every option is always listed; the ones that fit what the person named come first.
        substance = substance_of(tracker) if audience == "self" else None
        eligible = by_fit(shuffled(options_for(audience), tracker.sender_id), substance)
        groups = [o for o in eligible if o.mutual_aid]
        services = [o for o in eligible if not o.mutual_aid]
        dispatcher.utter_message(response="utter_options_intro")
        dispatcher.utter_message(text="\n".join(f"- {title_of(o)}: {o.summary}" for o in groups))
        if services:
            dispatcher.utter_message(response="utter_not_mutual_aid_note")
            dispatcher.utter_message(text="\n".join(f"- {o.name}: {o.summary}" for o in services))
        buttons = [
            {"title": o.short_name, "payload": f'/option_details{{"option": "{o.id}"}}'}
            for o in eligible
        ]
        dispatcher.utter_message(response="utter_options_more", buttons=buttons)
        return [{"event": "slot", "timestamp": None, "name": "audience", "value": audience}]


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
            online=yes_no(option.online),
            in_person=yes_no(option.in_person_uk),
            cost=option.cost,
            website=option.website.value,
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


class ActionGambling(Action):
    """Support for gambling, shown only when gambling comes up."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_gambling"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The gambling groups and lines, in this chat's order."""
        base = knowledge()
        options = shuffled([o for o in base.options if o.gambling_only], tracker.sender_id)
        lines = [f"- {o.name}: {o.summary} ({o.website.value})" for o in options]
        lines += [
            f"- {line.name}: {line.contact.value} ({line.hours.value})"
            for line in base.support_lines
            if line.topic == "gambling"
        ]
        dispatcher.utter_message(response="utter_gambling_intro")
        if lines:
            dispatcher.utter_message(text="\n".join(lines))
        return []
