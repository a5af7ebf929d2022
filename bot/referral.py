"""Referral handoff: which consented answers go into a site's form, and the form's address.

The form's address comes only from the sites file. Only fields the person agreed to share,
and that the site's prefill mapping names, go into it; values are the labels of buttons the
person pressed, never text they typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from bot.knowledge import MutualAidOption, Site
from bot.yamlfiles import load_model

FieldName = Literal["interests", "contact_method", "best_time"]
LEFT_OUT = "leave_out"
NOT_SURE = "not_sure"


class ReferralField(BaseModel):
    """How one shareable field is named in the consent question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=3)
    values: dict[str, str] = {}


class ReferralFile(BaseModel):
    """knowledge/referral.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[FieldName, ReferralField]
    nothing_prefilled: str
    not_sure: str


def load_referral(folder: Path) -> ReferralFile:
    """Load knowledge/referral.yml."""
    return load_model(folder / "referral.yml", ReferralFile)


def shared_values(
    answers: dict[str, object],
    site: Site,
    referral: ReferralFile,
    options: dict[str, MutualAidOption],
) -> dict[str, str]:
    """Field name -> the words that would go into the form, for fields the site can take."""
    shared: dict[str, str] = {}
    for name, spec in referral.fields.items():
        if name not in site.prefill:
            continue
        value = answers.get(name)
        if value in (None, LEFT_OUT, [LEFT_OUT], []):
            continue
        if name == "interests":
            items = value if isinstance(value, list) else [value]
            names = [
                options[i].name if i in options else referral.not_sure
                for i in items
                if i == NOT_SURE or i in options
            ]
            if names:
                shared[name] = ", ".join(dict.fromkeys(names))
        elif isinstance(value, str) and value in spec.values:
            shared[name] = spec.values[value]
    return shared


def describe(shared: dict[str, str], referral: ReferralFile) -> str:
    """The list of what would be shared, for the consent question."""
    if not shared:
        return referral.nothing_prefilled
    parts = [f"{referral.fields[name].label} ({words})" for name, words in shared.items()]
    return "; ".join(parts)


def form_url(site: Site, shared: dict[str, str]) -> str:
    """The site's form address with the shared fields filled in (query parameters)."""
    base = str(site.referral_form_url)
    params = [
        (site.prefill[name], words) for name, words in shared.items() if name in site.prefill
    ]
    if not params:
        return base
    parts = urlsplit(base)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    return urlunsplit(parts._replace(query=urlencode(query)))
