"""Pydantic models of Rasa 3.x's domain.yml, and the loaded domain the engine uses.

The models accept what Rasa accepts for the parts we use and reject anything else with the
file, line and field, so a typo in dialogues/domain.yml never surfaces as a runtime error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from bot.yamlfiles import FieldError, Strict, load_model

BUILTIN_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_default_fallback",
        "action_deactivate_loop",
    }
)
BUILTIN_INTENTS = frozenset({"nlu_fallback"})


class PayloadButton(Strict):
    """A button whose payload is sent back as a message when pressed."""

    title: str
    payload: str


class UrlButton(Strict):
    """A button that opens a web address."""

    title: str
    url: str


Button = PayloadButton | UrlButton


class ResponseCondition(Strict):
    """A condition on a response variation (Rasa's conditional response variations)."""

    type: Literal["slot"] = "slot"
    name: str
    value: Any = None


class ResponseVariation(Strict):
    """One variation of a response."""

    text: str
    buttons: list[Button] = []
    condition: list[ResponseCondition] = []
    channel: str | None = None
    id: str | None = None


class MappingCondition(Strict):
    """When a slot mapping applies: only while a form is active and asking for a slot."""

    active_loop: str | None = None
    requested_slot: str | None = None


class SlotMapping(Strict):
    """How a slot gets its value (Rasa 3.x slot mappings)."""

    type: Literal["from_entity", "from_intent", "from_trigger_intent", "from_text", "custom"]
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intent: str | list[str] | None = None
    not_intent: str | list[str] | None = None
    value: Any = None
    action: str | None = None
    conditions: list[MappingCondition] = []

    @model_validator(mode="after")
    def _needs(self) -> SlotMapping:
        if self.type == "from_entity" and not self.entity:
            raise ValueError("a from_entity mapping needs an 'entity'")
        if self.type in ("from_intent", "from_trigger_intent") and "value" not in (
            self.model_fields_set
        ):
            raise ValueError(f"a {self.type} mapping needs a 'value'")
        return self

    def intents(self) -> list[str]:
        """The intents this mapping is limited to (empty means any)."""
        return _as_list(self.intent)

    def not_intents(self) -> list[str]:
        """The intents this mapping never applies to."""
        return _as_list(self.not_intent)


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Slot(Strict):
    """A slot: typed memory of the conversation."""

    type: Literal["text", "bool", "categorical", "float", "list", "any"]
    mappings: list[SlotMapping] = Field(min_length=1)
    influence_conversation: bool | None = None
    values: list[Any] | None = None
    initial_value: Any = None
    min_value: float | None = None
    max_value: float | None = None

    @model_validator(mode="after")
    def _categorical_values(self) -> Slot:
        if self.type == "categorical" and not self.values:
            raise ValueError("a categorical slot needs 'values'")
        return self


class Form(Strict):
    """A form: the slots it asks for, in order."""

    required_slots: list[str] = Field(min_length=1)
    ignored_intents: list[str] = []


class SessionConfig(Strict):
    """Rasa's session settings (kept for compatibility; sessions restart on /restart)."""

    session_expiration_time: float = 60
    carry_over_slots_to_new_session: bool = True


class DomainFile(Strict):
    """The whole of domain.yml."""

    version: str = "3.1"
    session_config: SessionConfig = SessionConfig()
    intents: list[str | dict[str, dict[str, Any]]] = []
    entities: list[str | dict[str, dict[str, Any]]] = []
    slots: dict[str, Slot] = {}
    responses: dict[str, list[ResponseVariation]] = {}
    forms: dict[str, Form] = {}
    actions: list[str] = []

    @model_validator(mode="after")
    def _names(self) -> DomainFile:
        for name, variations in self.responses.items():
            if not name.startswith("utter_"):
                raise FieldError(
                    ("responses", name), f"response '{name}' must start with 'utter_'"
                )
            if not variations:
                raise FieldError(("responses", name), f"response '{name}' has no variations")
        for form_name, form in self.forms.items():
            for index, slot in enumerate(form.required_slots):
                if slot not in self.slots:
                    raise FieldError(
                        ("forms", form_name, "required_slots", index),
                        f"form '{form_name}' asks for unknown slot '{slot}'",
                    )
        return self


def _names_of(items: list[str | dict[str, dict[str, Any]]]) -> list[str]:
    names: list[str] = []
    for item in items:
        names.extend([item] if isinstance(item, str) else list(item))
    return names


class Domain:
    """The loaded domain, with the look-ups the engine needs."""

    def __init__(self, data: DomainFile, path: Path | None = None) -> None:
        self.data = data
        self.path = path
        self.intents: list[str] = _names_of(data.intents)
        self.entities: list[str] = _names_of(data.entities)
        self.slots = data.slots
        self.responses = data.responses
        self.forms = data.forms
        self.custom_actions: list[str] = list(data.actions)

    @classmethod
    def load(cls, path: Path) -> Domain:
        """Load and validate domain.yml."""
        return cls(load_model(path, DomainFile), path)

    def is_action(self, name: str) -> bool:
        """Whether a name is an action the bot can run."""
        return (
            name in self.responses
            or name in self.custom_actions
            or name in self.forms
            or name in BUILTIN_ACTIONS
        )

    def initial_slots(self) -> dict[str, Any]:
        """Every slot at its initial value."""
        slots: dict[str, Any] = {name: slot.initial_value for name, slot in self.slots.items()}
        slots.setdefault("requested_slot", None)
        return slots

    def transient_slots(self) -> set[str]:
        """Slots that may hold typed text: kept for one turn, never written to disk."""
        return {
            name
            for name, slot in self.slots.items()
            if any(mapping.type == "from_text" for mapping in slot.mappings)
        }

    def as_rasa_dict(self) -> dict[str, Any]:
        """The domain as Rasa sends it to an action server."""
        return {
            "version": self.data.version,
            "session_config": self.data.session_config.model_dump(),
            "intents": list(self.intents),
            "entities": list(self.entities),
            "slots": {
                name: slot.model_dump(exclude_none=True) for name, slot in self.slots.items()
            },
            "responses": {
                name: [v.model_dump(exclude_defaults=True) for v in variations]
                for name, variations in self.responses.items()
            },
            "forms": {
                name: {"required_slots": list(form.required_slots)}
                for name, form in self.forms.items()
            },
            "actions": list(self.custom_actions),
        }
