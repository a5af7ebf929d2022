"""The clarify step, with the semantics of Rasa's two-stage fallback.

When the NLU is unsure (``nlu_fallback``), the bot offers its top two or three readings as
buttons plus "Something else", instead of guessing: one extra tap is far cheaper than a
wrong answer. "Something else" asks the person to say it another way; a second miss in a
row shows the menu, so nobody is stuck. An answer (yes, no, "I'm fine", "online") given
where the bot asked nothing is not taken as an answer to anything.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import content_dir
from bot.intent_titles import ANSWER_INTENTS, load_intent_titles

FALLBACK_ACTION = "action_fallback"
FALLBACK_INTENT = "nlu_fallback"
SOMETHING_ELSE = "something_else"
# A reading this unlikely is not worth a button.
MIN_CONFIDENCE = 0.08
MAX_READINGS = 3
# Intents whose answer depends on which group: a group named in the message goes with them.
OPTION_INTENTS = frozenset(
    {"option_details", "group_contact", "find_meeting", "cost", "first_meeting"}
)


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


def _titles() -> dict[str, str]:
    return load_intent_titles(content_dir() / "dialogues" / "intent_titles.yml").titles


def readings(tracker: Tracker, titles: dict[str, str]) -> list[dict[str, str]]:
    """Buttons for the likeliest readings of the latest message that a person can ask for."""
    message = tracker.latest_message or {}
    option = next(tracker.get_latest_entity_values("option"), None)
    buttons: list[dict[str, str]] = []
    for item in message.get("intent_ranking") or []:
        name = str(item.get("name"))
        never = name in (FALLBACK_INTENT, SOMETHING_ELSE) or name in ANSWER_INTENTS
        if never or name not in titles:
            continue
        if float(item.get("confidence") or 0.0) < MIN_CONFIDENCE:
            break  # the ranking is sorted: nothing after this is likelier
        payload = f"/{name}"
        if option and name in OPTION_INTENTS:
            payload += json.dumps({"option": option})
        buttons.append({"title": titles[name], "payload": payload})
        if len(buttons) == MAX_READINGS:
            break
    return buttons


class ActionFallback(Action):
    """Did you mean (top readings), then rephrase, then the menu."""

    def name(self) -> str:
        """The action's name in the domain."""
        return FALLBACK_ACTION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Pick the step of the fallback."""
        intent = tracker.get_intent_of_latest_message()
        option = next(tracker.get_latest_entity_values("option"), None)
        if intent == "inform" and option:
            # A group's name on its own ("CA?") asks about that group.
            return [{"event": "followup", "timestamp": None, "name": "action_option_details"}]
        if intent in ANSWER_INTENTS:
            dispatcher.utter_message(response="utter_answer_without_question")
            return []
        if FALLBACK_ACTION in actions_of_previous_turn(tracker):
            dispatcher.utter_message(response="utter_fallback_menu")
            return []
        titles = _titles()
        buttons = readings(tracker, titles)
        if buttons:
            other = {"title": titles[SOMETHING_ELSE], "payload": f"/{SOMETHING_ELSE}"}
            dispatcher.utter_message(response="utter_did_you_mean", buttons=[*buttons, other])
        else:
            dispatcher.utter_message(response="utter_fallback_rephrase")
        return []
