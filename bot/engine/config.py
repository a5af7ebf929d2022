"""config.yml: Rasa's language, NLU pipeline and policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.yamlfiles import Strict, load_model

KNOWN_POLICIES = {"RulePolicy"}


class PipelineItem(BaseModel):
    """One component and its options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str


class PolicyItem(Strict):
    """One policy and its options."""

    name: str
    core_fallback_threshold: float = 0.3
    core_fallback_action_name: str = "action_default_fallback"
    enable_fallback_prediction: bool = True
    restrict_rules: bool = True
    check_for_contradictions: bool = True

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in KNOWN_POLICIES:
            raise ValueError(f"unknown policy {name!r} (known: {', '.join(KNOWN_POLICIES)})")
        return name


class BotConfig(Strict):
    """The whole of config.yml."""

    recipe: str = "default.v1"
    language: str = "en"
    assistant_id: str | None = None
    pipeline: list[PipelineItem] = Field(min_length=1)
    policies: list[PolicyItem] = Field(min_length=1)

    def pipeline_specs(self) -> list[dict[str, Any]]:
        """The pipeline as plain dicts (name plus options)."""
        return [item.model_dump() for item in self.pipeline]

    @property
    def rule_policy(self) -> PolicyItem:
        """The RulePolicy's settings."""
        return next(p for p in self.policies if p.name == "RulePolicy")


def load_config(path: Path) -> BotConfig:
    """Load and validate config.yml."""
    return load_model(path, BotConfig)
