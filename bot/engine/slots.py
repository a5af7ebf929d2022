"""Filling slots as Rasa does: from entities, intents and text, by each slot's mappings, with
values made to fit the slot's type."""

from __future__ import annotations

import logging
from typing import Any

from bot.domain import Domain, Slot, SlotMapping
from bot.engine.turn import Turn

log = logging.getLogger(__name__)


def coerce(slot: Slot, value: Any) -> Any:
    """Make a value fit the slot's type, as Rasa's slot types do."""
    if value is None:
        return None
    if slot.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        return None
    if slot.type == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if slot.type == "list":
        return list(value) if isinstance(value, list | tuple) else [value]
    if slot.type == "categorical":
        for allowed in slot.values or []:
            if str(allowed).lower() == str(value).lower():
                return allowed
        return None
    return value


class SlotFiller:
    """Sets slots on a turn, by the domain's slot definitions and mappings."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def mapping_applies(self, mapping: SlotMapping, turn: Turn) -> bool:
        """Whether a mapping's conditions and intents allow it in this turn."""
        if mapping.conditions and not any(
            c.active_loop == turn.loop_before
            and (c.requested_slot is None or c.requested_slot == turn.requested_before)
            for c in mapping.conditions
        ):
            return False
        if mapping.intents() and turn.intent not in mapping.intents():
            return False
        return turn.intent not in mapping.not_intents()

    def extract(self, turn: Turn) -> None:
        """Fill slots from the user's message (the first mapping that applies wins)."""
        entities = turn.latest_message.get("entities", [])
        for name, slot in self.domain.slots.items():
            for mapping in slot.mappings:
                if mapping.type in ("custom", "from_trigger_intent"):
                    continue
                if not self.mapping_applies(mapping, turn):
                    continue
                found, value = False, None
                if mapping.type == "from_entity":
                    values = [
                        e["value"]
                        for e in entities
                        if e.get("entity") == mapping.entity
                        and (mapping.role is None or e.get("role") == mapping.role)
                        and (mapping.group is None or e.get("group") == mapping.group)
                    ]
                    if values:
                        found, value = True, values if slot.type == "list" else values[0]
                elif mapping.type == "from_intent":
                    found, value = True, mapping.value
                elif mapping.type == "from_text":
                    found, value = True, turn.latest_message["text"]
                if found:
                    self.set(turn, name, value)
                    turn.filled.add(name)
                    break

    def set(self, turn: Turn, name: str, value: Any) -> None:
        """Set a slot (coerced to its type) and record the event; unknown slots are ignored."""
        slot = self.domain.slots.get(name)
        if slot is None and name != "requested_slot":
            log.warning("an action set unknown slot %s; ignored", name)
            return
        if slot is not None:
            value = coerce(slot, value)
        turn.state.slots[name] = value
        turn.events.append({"event": "slot", "name": name, "value": value})
