"""The two-step fallback: ask to rephrase once, then offer a menu, so nobody is stuck."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def previous_user_intent(tracker: Tracker) -> str | None:
    """The intent of the user message before the latest one."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if not seen_latest:
            seen_latest = True
            continue
        return (event.get("parse_data") or {}).get("intent", {}).get("name")
    return None


class ActionFallback(Action):
    """Rephrase first; if that is not understood either, show the menu."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Pick the step of the fallback."""
        if previous_user_intent(tracker) == "nlu_fallback":
            dispatcher.utter_message(response="utter_fallback_menu")
        else:
            dispatcher.utter_message(response="utter_fallback_rephrase")
        return []
