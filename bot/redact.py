"""Keep secrets out of every log line, whichever library writes it.

python-telegram-bot's own logger puts a rejected token into its error text
("The token `...` was rejected"), and HTTP libraries log URLs that contain it. A filter on
the root handlers rewrites every record before it is written: the message, its arguments,
and any exception or stack text.
"""

from __future__ import annotations

import logging

MASK = "[secret]"


class SecretRedactor(logging.Filter):
    """Replace each secret (and a bot token's secret half) with a mask in a log record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        parts: set[str] = set()
        for secret in secrets:
            secret = secret.strip()
            if len(secret) >= 8:
                parts.add(secret)
                # "123456:ABC...": the part after the colon is the secret one on its own.
                _, _, tail = secret.partition(":")
                if len(tail) >= 8:
                    parts.add(tail)
        # Longest first, so a whole token is masked before its tail is looked for.
        self.secrets = sorted(parts, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's bad format string: keep it as text
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(secrets: list[str]) -> SecretRedactor:
    """Add a redactor to every handler of the root logger (and return it)."""
    redactor = SecretRedactor(secrets)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(redactor)
    return redactor
