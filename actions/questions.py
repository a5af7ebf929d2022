"""Answers to the everyday questions about groups: meetings, contact details, cost, a first
meeting. A named group gets its own facts from knowledge/options/; otherwise every group
gets the same space, in this chat's order.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import button
from actions.cards import meeting_kinds, website_line, with_website_first
from actions.knowledge_access import knowledge, options_for, phone_line, shuffled
from bot.knowledge import MutualAidOption


def named_option(tracker: Tracker) -> MutualAidOption | None:
    """The group named in the latest message, if it is one the bot knows."""
    option_id = next(tracker.get_latest_entity_values("option"), None)
    return knowledge().options_by_id.get(str(option_id)) if option_id else None


def option_buttons(intent: str, options: list[MutualAidOption]) -> list[dict[str, str]]:
    """One button per option that asks the same question about that option."""
    return [button(o.short_name, intent, option=o.id) for o in options]


class ActionFindMeeting(Action):
    """Where and when: each group's own meeting list (there is no finder of our own yet)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_find_meeting"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The named group's list, or every group's list that has a checked address."""
        option = named_option(tracker)
        if option is not None:
            if option.meeting_finder is None:
                dispatcher.utter_message(
                    response="utter_find_meeting_none",
                    name=option.name,
                    website=website_line(option),
                )
            else:
                dispatcher.utter_message(
                    response="utter_option_meeting_finder",
                    name=option.name,
                    url=option.meeting_finder.value,
                    how=f"\n{option.meeting_finder.how}" if option.meeting_finder.how else "",
                )
            return []
        audience = "family" if tracker.get_slot("audience") == "family" else "self"
        listed = with_website_first(shuffled(options_for(audience), tracker.sender_id))
        dispatcher.utter_message(response="utter_find_meeting_intro")
        lines = [
            f"- {o.short_name}{f' ({kinds})' if (kinds := meeting_kinds(o)) else ''}: "
            f"{finder.value}"
            for o in listed
            if o.mutual_aid and (finder := o.meeting_finder or o.website) is not None
        ]
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(response="utter_find_meeting_more")
        return []


class ActionGroupContact(Action):
    """A named group's own website and phone line, never the emergency list."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_group_contact"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The group's details, or a choice of group when none was named."""
        option = named_option(tracker)
        if option is None:
            options = shuffled(knowledge().options, tracker.sender_id)
            dispatcher.utter_message(
                response="utter_group_contact_which",
                buttons=option_buttons("group_contact", options),
            )
            return []
        dispatcher.utter_message(
            response="utter_group_contact",
            name=option.name,
            website=website_line(option),
            helpline=phone_line(option),
        )
        return []


class _NamedOrGeneral:
    """One line from the named group's own file, or the general answer when none is named.

    A mixin, not an Action: rasa-sdk registers every Action subclass it finds, and this one
    has no name of its own.
    """

    action_name: str
    general_response: str
    option_response: str
    option_field: str

    def name(self) -> str:
        """The action's name in the domain."""
        return self.action_name

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The named group's own words, or the general answer."""
        option = named_option(tracker)
        if option is None:
            dispatcher.utter_message(response=self.general_response)
        else:
            dispatcher.utter_message(
                response=self.option_response,
                name=option.name,
                **{self.option_field: getattr(option, self.option_field)},
            )
        return []


class ActionCost(_NamedOrGeneral, Action):
    """Whether it costs anything."""

    action_name = "action_cost"
    general_response = "utter_cost"
    option_response = "utter_option_cost"
    option_field = "cost"


class ActionFirstMeeting(_NamedOrGeneral, Action):
    """What a first meeting is like."""

    action_name = "action_first_meeting"
    general_response = "utter_first_meeting"
    option_response = "utter_option_first_meeting"
    option_field = "first_meeting"
