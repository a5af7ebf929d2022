"""Planning a first meeting: which group, online or in person, and when."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import button
from actions.knowledge_access import knowledge, options_for, shuffled

FORMAT_WORDS = {"online": "online", "in_person": "in person", "not_sure": "online or in person"}
WHEN_WORDS = {"this_week": "this week", "next_week": "next week", "not_sure": "when it suits you"}


class ActionAskPlanOption(Action):
    """Ask which group to try, with one button per option in this chat's order."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_ask_plan_option"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the question with option buttons and a way out."""
        buttons = [
            button(o.short_name, "inform", option=o.id)
            for o in shuffled(options_for("self"), tracker.sender_id)
        ]
        buttons.append({"title": "Stop planning", "payload": "/stop"})
        dispatcher.utter_message(response="utter_ask_plan_option", buttons=buttons)
        return []


class ValidatePlanForm(FormValidationAction):
    """Accept only groups the bot knows about."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "validate_plan_form"

    def validate_plan_option(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Keep the option if it exists."""
        if str(slot_value) in knowledge().options_by_id:
            return {"plan_option": str(slot_value)}
        dispatcher.utter_message(response="utter_option_unknown")
        return {"plan_option": None}


class ActionShowPlan(Action):
    """Sum up the plan and offer the group's own meeting finder."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_show_plan"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the summary and, where the group has one, a link to find a meeting."""
        option = knowledge().options_by_id.get(str(tracker.get_slot("plan_option")))
        if option is None:
            dispatcher.utter_message(response="utter_option_unknown")
            return []
        finder = option.meeting_finder or option.website
        dispatcher.utter_message(
            response="utter_plan_summary",
            option_name=option.name,
            format_words=FORMAT_WORDS.get(str(tracker.get_slot("plan_format")), "online"),
            when_words=WHEN_WORDS.get(str(tracker.get_slot("plan_when")), "when it suits you"),
            short_name=option.short_name,
        )
        # No finder and no checked website: no link at all, never a guessed one.
        find = [{"title": f"Find a {option.short_name} meeting", "url": finder.value}]
        dispatcher.utter_message(
            response="utter_plan_next",
            buttons=[
                *(find if finder else []),
                {"title": "Other groups", "payload": "/list_options"},
                {"title": "Help me get referred", "payload": "/request_referral"},
                {"title": "Check in with me later", "payload": "/followup"},
            ],
        )
        return []
