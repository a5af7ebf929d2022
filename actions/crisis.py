"""The crisis reply: emergency signposting first, with the numbers from knowledge/."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge


def line_values() -> dict[str, str]:
    """Each support line's contact, keyed by its id, for the response templates."""
    return {line.id: line.contact.value for line in knowledge().support_lines}


class ActionCrisisSupport(Action):
    """Answer a crisis (or a request for help now) with the right signposts."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_crisis_support"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the response for the crisis category, or every line for 'get help'."""
        category = next(tracker.get_latest_entity_values("crisis_type"), None)
        responses = {c.id: c.response for c in knowledge().crisis.categories}
        shown = [{"event": "slot", "timestamp": None, "name": "crisis_shown", "value": True}]
        if category in responses:
            dispatcher.utter_message(response=responses[category], **line_values())
            return shown
        if tracker.get_intent_of_latest_message() == "crisis":
            # The NLU's crisis intent (a second net behind the patterns): the widest reply.
            dispatcher.utter_message(response="utter_crisis_suicide", **line_values())
            return shown
        lines = "\n".join(
            f"- {line.name}: {line.contact.value} ({line.hours.value}). For {line.what_for}."
            for line in knowledge().support_lines
            if line.topic == "general"
        )
        dispatcher.utter_message(response="utter_get_help", lines=lines)
        return []
