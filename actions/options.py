"""Actions that list the mutual-aid options and show one option's card."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge, options_for, shuffled


class ActionListOptions(Action):
    """List every option that fits, each in the same shape, in this chat's order."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_list_options"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the intro, the list and one button per option."""
        options = shuffled(options_for("self"), tracker.sender_id)
        dispatcher.utter_message(response="utter_options_intro")
        lines = [f"- {o.name} ({o.short_name}): {o.summary}" for o in options]
        buttons = [
            {"title": o.short_name, "payload": f'/option_details{{"option": "{o.id}"}}'}
            for o in options
        ]
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(response="utter_options_more", buttons=buttons)
        return []


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
        helpline = ""
        if option.helpline:
            hours = f" ({option.helpline.hours.value})" if option.helpline.hours else ""
            helpline = f"\nPhone: {option.helpline.number.value}{hours}"
        dispatcher.utter_message(
            response="utter_option_card",
            name=option.name,
            short_name=option.short_name,
            summary=option.summary,
            first_meeting=option.first_meeting,
            cost=option.cost,
            website=option.website.value,
            helpline=helpline,
        )
        return []
