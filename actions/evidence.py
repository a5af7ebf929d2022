"""What the evidence says: the review's findings in plain words, each with its grade."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge


class ActionEvidence(Action):
    """List the findings with their grades."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_evidence"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Intro, one line per finding with its grade, and a closing line."""
        findings = knowledge().evidence.findings
        dispatcher.utter_message(response="utter_evidence_intro")
        dispatcher.utter_message(
            text="\n".join(f"- {f.statement} ({f.grade.capitalize()}.)" for f in findings)
        )
        dispatcher.utter_message(response="utter_evidence_outro")
        return []
