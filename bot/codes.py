"""Codes people type: short codes from posters (bot/links.py) and staff enrolment codes
(bot/staff.py). One alphabet without look-alikes (no 0 or O, 1, I or L, U), and typing is
forgiven: any case, spaces, dashes of any kind, dots and underscores.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_SEPARATORS = re.compile(r"[\s\-_.\u2010-\u2015\u2212]+")
# Longer text is never a code: it is not even looked at.
MAX_TYPED = 64


@dataclass(frozen=True)
class CodeFormat:
    """Codes of one length, shown in groups (``ABCD-2345``)."""

    length: int
    group: int

    def new(self) -> str:
        """A new random code, as stored."""
        return "".join(secrets.choice(ALPHABET) for _ in range(self.length))

    def normalise(self, text: str) -> str | None:
        """A typed code as stored (upper case, no separators), or None if it is not one."""
        if not text or len(text) > MAX_TYPED:
            return None
        compact = _SEPARATORS.sub("", text.strip()).upper()
        if len(compact) != self.length or any(ch not in ALPHABET for ch in compact):
            return None
        return compact

    def show(self, code: str) -> str:
        """A stored code as people see it, in groups joined by dashes."""
        return "-".join(code[i : i + self.group] for i in range(0, len(code), self.group))
