"""The welcome: what the bot is and is not, in the words of the person's setting."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionStart(Action):
    """Welcome the person, in the words of their setting (none, GP practice, probation)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_start"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Say kindly if the start link did not work, then the welcome for the setting."""
        if tracker.get_slot("link_status") in ("expired", "reused", "invalid"):
            dispatcher.utter_message(response="utter_link_problem")
        dispatcher.utter_message(response="utter_shared_device_tip")
        dispatcher.utter_message(response="utter_welcome")
        return []
