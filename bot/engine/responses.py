"""Render the domain's utter_* responses: pick a variation, fill in slots, attach buttons."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bot.domain import Domain, PayloadButton, ResponseVariation, UrlButton

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, values: dict[str, Any]) -> str:
    """Replace ``{name}`` with a value; unknown names are left as they are, as in Rasa."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values and values[name] is not None:
            value = values[name]
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return match.group(0)

    return _PLACEHOLDER.sub(replace, template)


def _matches(variation: ResponseVariation, slots: dict[str, Any], channel: str) -> bool:
    if variation.channel and variation.channel != channel:
        return False
    return all(slots.get(c.name) == c.value for c in variation.condition)


def choose_variation(
    variations: list[ResponseVariation], slots: dict[str, Any], channel: str, seed: str
) -> ResponseVariation | None:
    """Conditional variations that match come first; otherwise a stable pick of the rest."""
    conditional = [v for v in variations if v.condition and _matches(v, slots, channel)]
    pool = conditional or [v for v in variations if not v.condition and _matches(v, slots, "")]
    if not pool:
        pool = [v for v in variations if not v.condition]
    if not pool:
        return None
    index = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(pool)
    return pool[index]


def button_dict(button: PayloadButton | UrlButton, values: dict[str, Any]) -> dict[str, str]:
    """A button in the shape of Rasa's REST channel output."""
    if isinstance(button, UrlButton):
        return {"title": fill(button.title, values), "url": fill(button.url, values)}
    return {"title": fill(button.title, values), "payload": button.payload}


def render_response(
    domain: Domain,
    name: str,
    slots: dict[str, Any],
    channel: str,
    seed: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """One rendered message for a response name, or None if it is not in the domain."""
    variations = domain.responses.get(name)
    if not variations:
        return None
    variation = choose_variation(variations, slots, channel, f"{seed}:{name}")
    if variation is None:
        return None
    values = {**slots, **(extra or {})}
    message: dict[str, Any] = {"text": fill(variation.text, values), "response": name}
    if variation.buttons:
        message["buttons"] = [button_dict(b, values) for b in variation.buttons]
    return message
