"""The Rasa tracker wire format: what an action server receives about the conversation."""

from __future__ import annotations

import time
from typing import Any

from bot.engine.policy import ACTION_LISTEN
from bot.engine.turn import Turn


def rasa_tracker(turn: Turn, trailing: list[dict[str, Any]]) -> dict[str, Any]:
    """The tracker as a Rasa server sends it: past intents, actions and loops as events,
    then this turn's events and any trailing ones (slots a form validator must check)."""
    state = turn.state
    events: list[dict[str, Any]] = []
    for entry in state.history[: turn.history_start]:
        if "intent" in entry:
            events.append({"event": "user", "parse_data": {"intent": {"name": entry["intent"]}}})
        elif "action" in entry:
            events.append({"event": "action", "name": entry["action"]})
        elif "active_loop" in entry:
            events.append({"event": "active_loop", "name": entry["active_loop"]})
    events.extend(turn.events)
    events.extend(trailing)
    latest_action = turn.actions_run[-1] if turn.actions_run else ACTION_LISTEN
    return {
        "sender_id": state.id,
        "slots": dict(state.slots),
        "latest_message": turn.latest_message,
        "latest_event_time": time.time(),
        "followup_action": None,
        "paused": False,
        "events": events,
        "latest_input_channel": turn.channel,
        "active_loop": {"name": state.active_loop} if state.active_loop else {},
        "latest_action": {"action_name": latest_action},
        "latest_action_name": latest_action,
    }


# Keys of a dispatched message that are not template values.
_STANDARD_KEYS = frozenset(
    {"text", "buttons", "response", "template", "elements", "custom"}
    | {"image", "attachment", "json_message", "quick_replies"}
)


def template_extras(message: dict[str, Any]) -> dict[str, Any]:
    """The values an action passed with a response (``dispatcher.utter_message(x=...)``)."""
    return {k: v for k, v in message.items() if k not in _STANDARD_KEYS and v is not None}
