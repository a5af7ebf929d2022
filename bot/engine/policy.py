"""Rasa's RulePolicy semantics over rules.yml.

A rule is a short piece of conversation. When the end of the conversation so far matches
the beginning of a rule (and the rule's conditions on slots and the active form hold), the
rule's next action is predicted. After a rule's last step the bot listens, unless the rule
says ``wait_for_user_input: false``. The longest match wins, as in Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.training_data import (
    ActionStep,
    LoopStep,
    Rule,
    SlotStep,
    UserStep,
    slot_pairs,
)

ACTION_LISTEN = "action_listen"

# A trail item: ("intent", name) | ("action", name) | ("active_loop", name or None)
TrailItem = tuple[str, str | None]


@dataclass(frozen=True)
class Prediction:
    """The action to run next and why."""

    action: str
    rule: str | None
    explicit_loop: bool = False


def _step_item(step: UserStep | ActionStep | LoopStep) -> TrailItem:
    if isinstance(step, UserStep):
        return ("intent", step.intent)
    if isinstance(step, ActionStep):
        return ("action", step.action)
    return ("active_loop", step.active_loop)


def trail_from_history(history: list[dict[str, Any]]) -> list[TrailItem]:
    """Turn stored history entries into trail items."""
    trail: list[TrailItem] = []
    for entry in history:
        if "intent" in entry:
            trail.append(("intent", entry["intent"]))
        elif "action" in entry:
            if entry["action"] != ACTION_LISTEN:
                trail.append(("action", entry["action"]))
        elif "active_loop" in entry:
            trail.append(("active_loop", entry["active_loop"]))
    return trail


def _slot_ok(slots: dict[str, Any], name: str, value: Any, given: bool) -> bool:
    current = slots.get(name)
    if not given:
        return current is not None
    return current == value


class RulePolicy:
    """Predicts the next action from rules, as Rasa's RulePolicy does."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._compiled = [self._compile(rule) for rule in rules]
        # A rule can only match if the last thing that happened is one of its steps: this
        # skips most rules at once on every prediction (it runs twice a turn or more).
        self._steps = [frozenset(items) for items, _ in self._compiled]

    @staticmethod
    def _compile(rule: Rule) -> tuple[list[TrailItem], list[list[tuple[str, Any, bool]]]]:
        items: list[TrailItem] = []
        # slot conditions that hold at each position (checked against the current slots)
        slot_checks: list[list[tuple[str, Any, bool]]] = [[]]
        for step in rule.steps:
            if isinstance(step, SlotStep):
                slot_checks[-1].extend(slot_pairs(step))
                continue
            items.append(_step_item(step))
            slot_checks.append([])
        return items, slot_checks

    @staticmethod
    def loop_at(trail: list[TrailItem], position: int, current: str | None) -> str | None:
        """The active form at a position of the trail, worked out from later loop changes."""
        for index in range(position - 1, -1, -1):
            if trail[index][0] == "active_loop":
                return trail[index][1]
        for index in range(position, len(trail)):
            if trail[index][0] == "active_loop":
                if trail[index][1] is not None:
                    return None
                before = trail[index - 1] if index > 0 else None
                return before[1] if before and before[0] == "action" else None
        return current

    def _conditions_hold(self, rule: Rule, slots: dict[str, Any], active_loop: str | None) -> bool:
        for condition in rule.condition:
            if isinstance(condition, LoopStep):
                if condition.active_loop != active_loop:
                    return False
            else:
                for name, value, given in slot_pairs(condition):
                    if not _slot_ok(slots, name, value, given):
                        return False
        return True

    @staticmethod
    def _has_loop_condition(rule: Rule) -> bool:
        return any(isinstance(c, LoopStep) for c in rule.condition)

    def predict(
        self,
        trail: list[TrailItem],
        slots: dict[str, Any],
        active_loop: str | None,
        *,
        conversation_start: bool,
        skip_actions: frozenset[str] = frozenset(),
    ) -> Prediction | None:
        """The next action after the trail, or None if no rule applies."""
        last_user = max((i for i, item in enumerate(trail) if item[0] == "intent"), default=-1)
        since_user = len(trail) - last_user - 1 if last_user >= 0 else len(trail)
        best: tuple[int, int, int, Prediction] | None = None
        last = trail[-1] if trail else None
        for order, (rule, (items, slot_checks), steps) in enumerate(
            zip(self.rules, self._compiled, self._steps, strict=True)
        ):
            if rule.conversation_start and not conversation_start:
                continue
            if last is not None and last not in steps:
                continue
            for k in range(len(items), 0, -1):
                if k < since_user or k > len(trail):
                    continue
                if trail[len(trail) - k :] != items[:k]:
                    continue
                loop_then = self.loop_at(trail, len(trail) - k, active_loop)
                if not self._conditions_hold(rule, slots, loop_then):
                    continue
                if rule.conversation_start and len(trail) != k:
                    continue
                if not all(_slot_ok(slots, *check) for check in slot_checks[k]):
                    continue
                if k == len(items):
                    if not rule.wait_for_user_input:
                        continue
                    action = ACTION_LISTEN
                else:
                    kind, name = items[k]
                    if kind != "action" or name is None:
                        continue
                    action = name
                if action in skip_actions:
                    continue
                prediction = Prediction(action, rule.rule, self._has_loop_condition(rule))
                weight = len(rule.condition)
                # A conversation_start rule also matches the start of the conversation
                # (Rasa puts an empty state before the first turn), so it is one step longer.
                length = k + 1 if rule.conversation_start else k
                candidate = (length, weight, -order, prediction)
                if best is None or candidate[:3] > best[:3]:
                    best = candidate
                break
        return best[3] if best else None

    def conflicts(self) -> list[str]:
        """Pairs of rules that begin the same way and then predict different actions."""
        problems: list[str] = []
        seen: dict[tuple[Any, ...], tuple[str, str]] = {}
        for rule, (items, _) in zip(self.rules, self._compiled, strict=True):
            conditions = tuple(sorted(repr(c.model_dump()) for c in rule.condition))
            for k in range(1, len(items) + 1):
                if k == len(items):
                    nxt = ACTION_LISTEN if rule.wait_for_user_input else None
                else:
                    kind, name = items[k]
                    nxt = name if kind == "action" else None
                if nxt is None:
                    continue
                key = (conditions, rule.conversation_start, tuple(items[:k]))
                if key in seen and seen[key][1] != nxt:
                    problems.append(
                        f"rules '{seen[key][0]}' and '{rule.rule}' start the same way but "
                        f"predict '{seen[key][1]}' and '{nxt}'"
                    )
                seen.setdefault(key, (rule.rule, nxt))
        return problems
