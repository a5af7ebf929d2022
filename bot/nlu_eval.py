"""`mutual-aid-bot evaluate --test-file FILE`: the NLU on a test set it was never trained on.

Like ``rasa test nlu``: the trained model (the same one the bot uses) parses every message of
a Rasa NLU file, and the report gives accuracy, the misroute rate (a confident wrong intent,
which sends a person the wrong answer), the clarify rate (the bot asks "did you mean"
instead of guessing), per-intent precision, recall and F1 from scikit-learn's
``classification_report``, and the most common confusions. With ``--out`` it also writes
``report.json`` and ``confusion.png``.

A message labelled ``out_of_scope`` that the model sends to the clarify step counts as
right: the bot says what it can help with either way.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.nlu.pipeline import NluPipeline
from bot.training_data import TrainingData

FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"


class Prediction(BaseModel):
    """One test message, its label and what the model made of it."""

    model_config = ConfigDict(frozen=True)

    text: str
    intent: str
    predicted: str
    confidence: float
    entities: list[dict[str, Any]] = []
    expected_entities: list[dict[str, Any]] = []


def outcome(intent: str, predicted: str) -> str:
    """right, clarify (asked instead of guessing) or misroute (a confident wrong intent)."""
    if predicted == intent or (intent == OUT_OF_SCOPE and predicted == FALLBACK):
        return "right"
    return "clarify" if predicted == FALLBACK else "misroute"


@dataclass
class NluReport:
    """The outcome of parsing a whole test file."""

    predictions: list[Prediction] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many test messages."""
        return len(self.predictions)

    def _share(self, kind: str) -> float:
        if not self.predictions:
            return 0.0
        hits = sum(outcome(p.intent, p.predicted) == kind for p in self.predictions)
        return hits / self.total

    @property
    def accuracy(self) -> float:
        """Share of messages given their own intent."""
        return self._share("right")

    @property
    def misroute_rate(self) -> float:
        """Share of messages given a confident wrong intent."""
        return self._share("misroute")

    @property
    def clarify_rate(self) -> float:
        """Share of messages the bot would ask about instead of answering."""
        return self._share("clarify")

    def entity_scores(self) -> dict[str, dict[str, float]]:
        """Per entity type: precision and recall of (entity, value) pairs found."""
        found: Counter[str] = Counter()
        expected: Counter[str] = Counter()
        matched: Counter[str] = Counter()
        for p in self.predictions:
            got = {(e["entity"], str(e["value"]).lower()) for e in p.entities}
            want = {(e["entity"], str(e["value"]).lower()) for e in p.expected_entities}
            for name, _ in got:
                found[name] += 1
            for name, _ in want:
                expected[name] += 1
            for name, _ in got & want:
                matched[name] += 1
        return {
            name: {
                "precision": matched[name] / found[name] if found[name] else 0.0,
                "recall": matched[name] / expected[name] if expected[name] else 0.0,
                "support": expected[name],
            }
            for name in sorted(set(found) | set(expected))
        }

    def _labels(self) -> list[str]:
        names = {p.intent for p in self.predictions} | {p.predicted for p in self.predictions}
        return sorted(names)

    def classification(self, as_dict: bool = False) -> Any:
        """scikit-learn's per-intent precision, recall and F1."""
        from sklearn.metrics import classification_report

        truth = [p.intent for p in self.predictions]
        guess = [
            p.intent if outcome(p.intent, p.predicted) == "right" else p.predicted
            for p in self.predictions
        ]
        labels = sorted({*truth})
        return classification_report(
            truth, guess, labels=labels, zero_division=0, output_dict=as_dict, digits=2
        )

    def confusions(self) -> list[tuple[str, str, int]]:
        """True intent, predicted intent and count, most common first (wrong ones only)."""
        counts = Counter(
            (p.intent, p.predicted)
            for p in self.predictions
            if outcome(p.intent, p.predicted) != "right"
        )
        return [(true, guess, n) for (true, guess), n in counts.most_common()]

    def summary(self) -> str:
        """The headline numbers."""
        return (
            f"accuracy: {self.accuracy:.3f}  misroutes: {self.misroute_rate:.1%}  "
            f"clarify: {self.clarify_rate:.1%}  ({self.total} messages)"
        )

    def report(self, show_misses: bool = False) -> str:
        """Per-intent scores, entities, the most common confusions and the headline."""
        lines = [self.classification()]
        entities = self.entity_scores()
        if entities:
            lines.append("entities (precision, recall, n):")
            lines += [
                f"  {name:12} {s['precision']:.2f} {s['recall']:.2f} {int(s['support'])}"
                for name, s in entities.items()
            ]
        confusions = self.confusions()
        if confusions:
            lines.append("most common confusions (true -> predicted: count):")
            lines += [f"  {t} -> {g}: {n}" for t, g, n in confusions[:15]]
        if show_misses:
            for p in self.predictions:
                kind = outcome(p.intent, p.predicted)
                if kind != "right":
                    lines.append(f"  {kind}: {p.intent} -> {p.predicted}: {p.text}")
        lines.append(self.summary())
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """Everything in the report, for report.json."""
        return {
            "total": self.total,
            "accuracy": self.accuracy,
            "misroute_rate": self.misroute_rate,
            "clarify_rate": self.clarify_rate,
            "intents": self.classification(as_dict=True),
            "entities": self.entity_scores(),
            "confusions": [
                {"intent": t, "predicted": g, "count": n} for t, g, n in self.confusions()
            ],
            "predictions": [p.model_dump() for p in self.predictions],
        }

    def write(self, out_dir: Path) -> list[Path]:
        """report.json and confusion.png in out_dir; the paths written."""
        out_dir.mkdir(parents=True, exist_ok=True)
        report = out_dir / "report.json"
        report.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n")
        image = out_dir / "confusion.png"
        self.plot(image)
        return [report, image]

    def plot(self, path: Path) -> None:
        """A confusion-matrix heat map: true intents down, predicted across."""
        import matplotlib

        matplotlib.use("Agg")  # no display: this runs in CI and over SSH
        import matplotlib.pyplot as plt
        import numpy as np

        labels = self._labels()
        index = {name: i for i, name in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=int)
        for p in self.predictions:
            matrix[index[p.intent], index[p.predicted]] += 1
        size = max(6.0, 0.28 * len(labels) + 2)
        figure, axes = plt.subplots(figsize=(size, size))
        axes.imshow(np.log1p(matrix), cmap="Blues")
        axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        axes.set_yticks(range(len(labels)), labels, fontsize=7)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(f"NLU confusion matrix ({self.total} messages)")
        for i, j in zip(*np.nonzero(matrix), strict=True):
            axes.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=5)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)


def evaluate_file(model: NluPipeline, test: TrainingData) -> NluReport:
    """Parse every example of the test data with the trained model."""
    report = NluReport()
    for intent, example in test.examples:
        parsed = model.parse(example.text)
        report.predictions.append(
            Prediction(
                text=example.text,
                intent=intent,
                predicted=parsed["intent"]["name"],
                confidence=float(parsed["intent"]["confidence"]),
                entities=[
                    {"entity": e["entity"], "value": e["value"]} for e in parsed["entities"]
                ],
                expected_entities=[
                    {"entity": e.entity, "value": e.value} for e in example.entities
                ],
            )
        )
    return report
