"""The dialogue loop of one turn, as Rasa runs it: predict the next action from the rules and
forms, run it (a response, a form, a built-in or a custom action), apply its events, repeat
until the bot listens."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.domain import Domain
from bot.engine.actions import ActionClient, ActionFailed
from bot.engine.actions import build_action_call as _build_call
from bot.engine.policy import ACTION_LISTEN, RulePolicy, trail_from_history
from bot.engine.responses import render_response
from bot.engine.slots import SlotFiller
from bot.engine.tracker import rasa_tracker, template_extras
from bot.engine.turn import CRISIS_ACTION, CRISIS_INTENT, Turn

log = logging.getLogger(__name__)

MAX_ACTIONS_PER_TURN = 12
HANDOFF_SLOT = "last_handoff"


class Dialogue:
    """Predicts and runs the actions of a turn."""

    def __init__(
        self,
        domain: Domain,
        policy: RulePolicy,
        fallback_action: str,
        actions: ActionClient,
        template_values: dict[str, str],
        on_handoff: Callable[[Any], None],
    ) -> None:
        self.domain = domain
        self.policy = policy
        self.fallback_action = fallback_action
        self.actions = actions
        self.template_values = template_values
        self.on_handoff = on_handoff
        self.slots = SlotFiller(domain)
        self.domain_dict = domain.as_rasa_dict()

    # ----- responses --------------------------------------------------------------------

    def render(
        self, response: str, turn: Turn, extra: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """A response from the domain, for this turn's slots and channel."""
        values = {**self.template_values, **extra} if extra else self.template_values
        return render_response(
            self.domain, response, turn.state.slots, turn.channel, turn.seed, values
        )

    def utter(self, turn: Turn, response: str, extra: dict[str, Any] | None = None) -> None:
        """Add a response to the turn's messages."""
        message = self.render(response, turn, extra)
        if message:
            turn.messages.append(message)

    # ----- prediction -------------------------------------------------------------------

    async def run(self, turn: Turn) -> None:
        """Run actions until the bot listens (at most MAX_ACTIONS_PER_TURN)."""
        for _ in range(MAX_ACTIONS_PER_TURN):
            action = self._next_action(turn)
            if action is None or action == ACTION_LISTEN:
                return
            await self._run_action(turn, action)
        log.warning("stopped a turn after %d actions", MAX_ACTIONS_PER_TURN)

    def _predict_rule(self, turn: Turn) -> Any:
        trail = trail_from_history(turn.state.history)
        intents = sum(1 for kind, _ in trail if kind == "intent")
        return self.policy.predict(
            trail, turn.state.slots, turn.state.active_loop, conversation_start=intents <= 1
        )

    def _next_action(self, turn: Turn) -> str | None:
        if turn.followup:
            action, turn.followup = turn.followup, None
            return action
        just_after_user = not turn.actions_run
        if turn.intent == CRISIS_INTENT:
            return CRISIS_ACTION if just_after_user else ACTION_LISTEN
        loop = turn.state.active_loop
        prediction = self._predict_rule(turn)
        if loop:
            if just_after_user:
                requested = turn.requested_before
                if requested is None or requested in turn.filled:
                    return loop
                if prediction and prediction.action != ACTION_LISTEN:
                    return prediction.action
                return loop
            if turn.actions_run[-1] == loop:
                return ACTION_LISTEN
            if prediction and (prediction.action != ACTION_LISTEN or prediction.explicit_loop):
                return prediction.action
            return loop
        if prediction:
            return prediction.action
        if just_after_user:
            return self.fallback_action
        return ACTION_LISTEN

    # ----- actions ----------------------------------------------------------------------

    async def _run_action(self, turn: Turn, action: str) -> None:
        turn.actions_run.append(action)
        state = turn.state
        if action in self.domain.forms:
            await self._run_form(turn, action)
            return
        state.history.append({"action": action})
        turn.events.append({"event": "action", "name": action})
        if action in self.domain.responses:
            self.utter(turn, action)
        elif action == "action_restart":
            self.restart(turn)
            self.utter(turn, "utter_restart")
        elif action == "action_default_fallback":
            self.utter(turn, "utter_default")
        elif action == "action_deactivate_loop":
            self.set_loop(turn, None)
        elif action in self.domain.custom_actions:
            await self._run_custom(turn, action)
        else:
            log.error("the policy predicted unknown action %s", action)
            self.utter(turn, "utter_default")

    def set_loop(self, turn: Turn, name: str | None) -> None:
        """Activate a form (or none) and record it."""
        turn.state.active_loop = name
        turn.state.history.append({"active_loop": name})
        turn.events.append({"event": "active_loop", "name": name})
        if name is None:
            turn.state.slots["requested_slot"] = None

    def restart(self, turn: Turn) -> None:
        """Forget the conversation so far (slots, form, history, offered buttons)."""
        state = turn.state
        state.slots = self.domain.initial_slots()
        state.active_loop = None
        state.history = []
        state.offered = []
        turn.events.append({"event": "restart"})

    async def _run_form(self, turn: Turn, form_name: str) -> None:
        state = turn.state
        form = self.domain.forms[form_name]
        state.history.append({"action": form_name})
        turn.events.append({"event": "action", "name": form_name})
        candidates: set[str] = set()
        if state.active_loop != form_name:
            self.set_loop(turn, form_name)
            for slot_name in form.required_slots:
                for mapping in self.domain.slots[slot_name].mappings:
                    if mapping.type == "from_trigger_intent" and self.slots.mapping_applies(
                        mapping, turn
                    ):
                        self.slots.set(turn, slot_name, mapping.value)
                        candidates.add(slot_name)
                        break
            candidates |= turn.filled & set(form.required_slots)
        elif turn.actions_run == [form_name]:
            candidates = turn.filled & set(form.required_slots)
        validator = f"validate_{form_name}"
        if candidates and validator in self.domain.custom_actions:
            trailing = [
                {"event": "slot", "name": s, "value": state.slots.get(s)}
                for s in form.required_slots
                if s in candidates
            ]
            await self._run_custom(turn, validator, trailing)
            if state.active_loop != form_name:
                return
        missing = next((s for s in form.required_slots if state.slots.get(s) is None), None)
        if missing is None:
            self.set_loop(turn, None)
            return
        self.slots.set(turn, "requested_slot", missing)
        for ask in (f"action_ask_{form_name}_{missing}", f"action_ask_{missing}"):
            if ask in self.domain.custom_actions:
                await self._run_custom(turn, ask)
                return
        for ask in (f"utter_ask_{form_name}_{missing}", f"utter_ask_{missing}"):
            if ask in self.domain.responses:
                self.utter(turn, ask)
                return
        log.error("form %s has no question for slot %s", form_name, missing)

    async def _run_custom(
        self, turn: Turn, action: str, trailing: list[dict[str, Any]] | None = None
    ) -> None:
        call = _build_call(action, rasa_tracker(turn, trailing or []), self.domain_dict)
        try:
            result = await self.actions.run(call)
            rendered = [self._dispatched(turn, m) for m in result.get("responses", [])]
        except ActionFailed:
            self.utter(turn, "utter_error")
            return
        except Exception as exc:
            # Any other client, or a malformed result: the person still gets an answer.
            # Only the type is logged: the tracker may hold what a person typed.
            log.error("action %s failed: %s", action, type(exc).__name__)
            self.utter(turn, "utter_error")
            return
        turn.messages.extend(message for message in rendered if message)
        self._apply_events(turn, result.get("events", []))

    def _dispatched(self, turn: Turn, message: dict[str, Any]) -> dict[str, Any] | None:
        """A message an action dispatched: a domain response (rendered here) or plain text."""
        response = message.get("response") or message.get("template")
        if response:
            rendered = self.render(response, turn, template_extras(message))
            if rendered is not None and message.get("buttons"):
                # Buttons an action builds (options in this chat's order) replace the
                # response's own.
                rendered["buttons"] = list(message["buttons"])
            return rendered
        if not message.get("text"):
            return None
        return {"text": message["text"], "buttons": message.get("buttons") or []}

    def _apply_events(self, turn: Turn, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "slot" and event.get("name") == HANDOFF_SLOT:
                self.on_handoff(event.get("value"))
            elif kind == "slot":
                self.slots.set(turn, str(event.get("name")), event.get("value"))
            elif kind in ("active_loop", "form"):
                name = event.get("name")
                if name is None or name in self.domain.forms:
                    self.set_loop(turn, name)
            elif kind == "followup":
                name = event.get("name")
                if isinstance(name, str) and self.domain.is_action(name):
                    turn.followup = name
            elif kind == "restart":
                self.restart(turn)
            elif kind == "reset_slots":
                turn.state.slots = self.domain.initial_slots()
