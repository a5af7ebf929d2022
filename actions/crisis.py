"""The crisis reply: emergency signposting first, with the numbers from knowledge/.

Each crisis category has its own reply (999 first for immediate danger, Samaritans first
for thoughts without it), ending in one gentle check-in by buttons and no risk score. A form
in progress is paused, not dropped: it resumes only when the person chooses to go on.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge

PAUSED_FORM_SLOT = "paused_form"


def line_values() -> dict[str, str]:
    """Each support line's contact, keyed by its id, for the response templates."""
    return {line.id: line.contact.value for line in knowledge().support_lines}


def pause_form(tracker: Tracker) -> list[dict[str, Any]]:
    """Stop the active form, remembering it so the person can choose to go back to it."""
    loop = (tracker.active_loop or {}).get("name")
    if not loop:
        return []
    return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(PAUSED_FORM_SLOT, loop)]


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
        events = pause_form(tracker)
        if category in responses:
            dispatcher.utter_message(response=responses[category], **line_values())
            return [*events, SlotSet("crisis_shown", True)]
        if tracker.get_intent_of_latest_message() == "crisis":
            # A crisis whose category is not known here (an older sender): the widest reply.
            dispatcher.utter_message(response="utter_crisis_suicidal_thoughts", **line_values())
            return [*events, SlotSet("crisis_shown", True)]
        lines = "\n".join(
            f"- {line.name}: {line.contact.value} ({line.hours.value}). For {line.what_for}."
            for line in knowledge().support_lines
            if line.topic == "general"
        )
        dispatcher.utter_message(response="utter_get_help", lines=lines)
        return events


class ActionResumeForm(Action):
    """Go back to the form that a crisis paused, when the person chooses to."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_resume_form"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Reopen the paused form (it asks its next question), or say there is none."""
        paused = tracker.get_slot(PAUSED_FORM_SLOT)
        if not paused or paused not in (domain.get("forms") or {}):
            dispatcher.utter_message(response="utter_nothing_to_resume")
            return [SlotSet(PAUSED_FORM_SLOT, None)]
        return [SlotSet(PAUSED_FORM_SLOT, None), ActiveLoop(paused)]
