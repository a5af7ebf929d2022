"""Runtime settings: where data and content live, read from the environment.

Every setting can be given as an environment variable with the prefix ``MUTUAL_AID_``
(for example ``MUTUAL_AID_DATA_DIR``), and the command line's ``--db`` and ``--sites``
override the two most used ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mutual-aid-bot"


class Settings(BaseSettings):
    """Where the bot keeps its data and finds its content."""

    model_config = SettingsConfigDict(
        env_prefix="MUTUAL_AID_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = _default_data_dir()
    db: Path | None = None
    sites: Path | None = None
    content_dir: Path = PROJECT_DIR
    models_dir: Path | None = None
    action_endpoint: AnyHttpUrl | None = None
    # Conversations idle longer than this are erased at start-up (store the least that works).
    retention_days: int = Field(default=30, ge=1, le=3650)
    # Telegram bot username for deep links (without @); `run` reads it from getMe.
    telegram_username: str = "MutualAidBot"
    # The public address of the web chat page (`serve`), if one is deployed: staff links, QR
    # codes and posters then point there, since not everyone has Telegram.
    web_chat_url: AnyHttpUrl | None = None
    # Other sites allowed to call the REST channel from a browser (CORS), as a JSON list of
    # origins, e.g. '["https://www.riverside-surgery.nhs.uk"]'. None by default.
    web_allowed_origins: list[str] = Field(default_factory=list)
    # Sites allowed to show the page in a frame (CSP frame-ancestors). None by default.
    web_frame_ancestors: list[str] = Field(default_factory=list)
    # Messages a minute, per chat and per address, before the REST channel answers 429.
    web_rate_per_sender: int = Field(default=30, ge=1, le=10_000)
    web_rate_per_address: int = Field(default=120, ge=1, le=100_000)
    # Behind a reverse proxy, take the client's address from X-Forwarded-For / X-Real-Ip.
    web_behind_proxy: bool = False
    # The bot token: from TELEGRAM_BOT_TOKEN (never from a URL path or a log line).
    telegram_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "MUTUAL_AID_TELEGRAM_TOKEN"),
    )
    # The webhook's secret header, from the environment so that `ps` never shows it.
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TELEGRAM_WEBHOOK_SECRET", "MUTUAL_AID_TELEGRAM_WEBHOOK_SECRET"
        ),
    )
    # The Bot API server, for a self-hosted Bot API server or for tests.
    telegram_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BASE_URL", "MUTUAL_AID_TELEGRAM_BASE_URL"),
    )

    @field_validator("web_allowed_origins", "web_frame_ancestors", mode="after")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", value):
                raise ValueError(
                    f"{value!r} is not an origin like https://www.example.nhs.uk (scheme and "
                    "host only, no path)"
                )
        return values

    @field_validator("data_dir", "content_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def db_path(self) -> Path:
        """The SQLite file (tracker store and events)."""
        return (self.db or self.data_dir / "bot.db").expanduser()

    @property
    def sites_path(self) -> Path:
        """The sites file; the example sites when none is configured."""
        return (self.sites or self.content_dir / "knowledge" / "sites.example.yml").expanduser()

    @property
    def secret_path(self) -> Path:
        """The key used to pseudonymise conversation ids and sign links."""
        return self.data_dir / "secret.key"

    @property
    def model_cache_dir(self) -> Path:
        """Trained NLU models, keyed by a hash of training data and config."""
        return (self.models_dir or self.data_dir / "models").expanduser()

    @property
    def dialogues_dir(self) -> Path:
        """Rasa-format domain, NLU data and rules."""
        return self.content_dir / "dialogues"

    @property
    def knowledge_dir(self) -> Path:
        """Facts the bot says, validated by pydantic models."""
        return self.content_dir / "knowledge"

    @property
    def config_path(self) -> Path:
        """The Rasa-style pipeline and policy configuration."""
        return self.content_dir / "config.yml"
