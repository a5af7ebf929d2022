"""Follow-up check-ins (Facilitating Access to Mutual Aid, stage 3): set or stop one.

The action only records the choice in slots; the Telegram channel schedules, sends and
cancels the message. A check-in is never shared with a site.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionFollowup(Action):
    """Confirm a check-in, ask when, or stop it."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_followup"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Reply for the person's choice and leave it in slots for the channel."""
        if tracker.get_intent_of_latest_message() == "cancel_followup":
            dispatcher.utter_message(response="utter_followup_cancelled")
            return [SlotSet("followup_days", None), SlotSet("followup_cancelled", True)]
        if tracker.get_slot("followup_days"):
            dispatcher.utter_message(response="utter_followup_set")
            return [SlotSet("followup_cancelled", False)]
        dispatcher.utter_message(response="utter_followup_ask")
        return []
