"""The two-step fallback: ask to rephrase once, then offer a menu, so nobody is stuck."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

FALLBACK_ACTION = "action_fallback"


def actions_of_previous_turn(tracker: Tracker) -> list[str]:
    """Names of the actions the bot ran in reply to the message before the latest one."""
    actions: list[str] = []
    users_seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users_seen += 1
            if users_seen == 2:
                return actions
        elif kind == "action" and users_seen == 1:
            actions.append(str(event.get("name")))
    return []


class ActionFallback(Action):
    """Rephrase first; if the last reply was already a fallback, show the menu."""

    def name(self) -> str:
        """The action's name in the domain."""
        return FALLBACK_ACTION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Pick the step of the fallback."""
        if FALLBACK_ACTION in actions_of_previous_turn(tracker):
            dispatcher.utter_message(response="utter_fallback_menu")
        else:
            dispatcher.utter_message(response="utter_fallback_rephrase")
        return []
