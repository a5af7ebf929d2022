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


def _slots_match(variation: ResponseVariation, slots: dict[str, Any]) -> bool:
    return all(slots.get(c.name) == c.value for c in variation.condition)


def _for_channel(variations: list[ResponseVariation], channel: str) -> list[ResponseVariation]:
    """Variations for this channel if there are any, else those for every channel."""
    own = [v for v in variations if v.channel and v.channel == channel]
    return own or [v for v in variations if not v.channel]


def choose_variation(
    variations: list[ResponseVariation], slots: dict[str, Any], channel: str, seed: str
) -> ResponseVariation | None:
    """Rasa's order: conditional variations whose slots match (this channel's first), else
    the unconditional ones (this channel's first); then a stable pick by the seed."""
    conditional = [v for v in variations if v.condition and _slots_match(v, slots)]
    pool = _for_channel(conditional, channel)
    if not pool:
        pool = _for_channel([v for v in variations if not v.condition], channel)
    if not pool:
        # Rasa would say nothing here; saying another channel's text is kinder.
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
