"""`mutual-aid-bot evaluate --crisis`: recall and false alarms of the safety net, per category.

The messages come from a held-out file (tests/crisis_heldout.yml) that is never trained on;
tests/test_crisis_data.py checks that no message in it is in, or close to, the training data.
Recall counts a crisis message as caught if the net answers it as any crisis (every crisis
reply gives emergency numbers); the category report shows which reply it got.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, field_validator

from bot.crisis_model import NONE
from bot.knowledge import Strict
from bot.safety import SafetyNet
from bot.yamlfiles import load_model


class HeldOutFile(Strict):
    """tests/crisis_heldout.yml: messages by label, ``none`` for ordinary ones."""

    categories: dict[str, list[str]] = Field(min_length=2)

    @field_validator("categories")
    @classmethod
    def _has_none(cls, categories: dict[str, list[str]]) -> dict[str, list[str]]:
        if NONE not in categories:
            raise ValueError("the held-out file needs a 'none' list of ordinary messages")
        return categories


def load_held_out(path: Path, labels: set[str]) -> HeldOutFile:
    """Load and check a held-out file against the known categories."""
    held_out = load_model(path, HeldOutFile)
    unknown = set(held_out.categories) - labels - {NONE}
    if unknown:
        raise ValueError(f"{path}: unknown categories {', '.join(sorted(unknown))}")
    return held_out


@dataclass
class CategoryResult:
    """How one category of held-out messages fared."""

    total: int = 0
    caught: int = 0
    by_patterns: int = 0
    by_classifier: int = 0
    right_category: int = 0
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of the category's messages answered as a crisis."""
        return self.caught / self.total if self.total else 1.0


@dataclass
class CrisisEvaluation:
    """Recall per category and the false-alarm rate on ordinary messages."""

    threshold: float
    categories: dict[str, CategoryResult] = field(
        default_factory=lambda: defaultdict(CategoryResult)
    )
    ordinary: int = 0
    false_alarms: list[tuple[str, str]] = field(default_factory=list)
    crisis_scores: list[float] = field(default_factory=list)
    ordinary_scores_by_text: list[tuple[str, float]] = field(default_factory=list)
    # Ordinary messages answered as each category: the false alarms, per category.
    false_alarms_as: Counter[str] = field(default_factory=Counter)
    pattern_only_hits: list[bool] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of all held-out crisis messages answered as a crisis."""
        total = sum(r.total for r in self.categories.values())
        caught = sum(r.caught for r in self.categories.values())
        return caught / total if total else 1.0

    @property
    def false_alarm_rate(self) -> float:
        """Share of ordinary held-out messages answered as a crisis."""
        return len(self.false_alarms) / self.ordinary if self.ordinary else 0.0

    def highest_threshold_for_full_recall(self) -> float:
        """The highest classifier threshold at which every held-out crisis is still caught."""
        needed = [
            score
            for score, by_patterns in zip(self.crisis_scores, self.pattern_only_hits, strict=True)
            if not by_patterns
        ]
        return min(needed) if needed else 1.0

    def false_alarm_rate_at(self, threshold: float) -> float:
        """The false-alarm rate if the classifier's threshold were this one."""
        if not self.ordinary:
            return 0.0
        pattern_alarms = {text for text, how in self.false_alarms if how == "patterns"}
        alarms = len(pattern_alarms) + sum(
            1
            for text, score in self.ordinary_scores_by_text
            if text not in pattern_alarms and score >= threshold
        )
        return alarms / self.ordinary

    def report(self, show_misses: bool = False) -> str:
        """A table a person can read: per category, then overall, then the threshold."""
        rows = [
            f"{'category':20} {'n':>4} {'recall':>7} {'patterns':>9} {'classifier':>11} "
            f"{'same reply':>11} {'false alarms':>13}"
        ]
        for name in sorted(self.categories):
            r = self.categories[name]
            rows.append(
                f"{name:20} {r.total:4d} {r.recall:7.1%} {r.by_patterns:9d} "
                f"{r.by_classifier:11d} {r.right_category / r.total if r.total else 0:11.1%} "
                f"{self.false_alarms_as[name]:13d}"
            )
        total = sum(r.total for r in self.categories.values())
        rows.append("")
        rows.append(f"recall: {self.recall:.1%} of {total} crisis messages")
        by_patterns = sum(1 for _, how in self.false_alarms if how == "patterns")
        rows.append(
            f"false alarms: {self.false_alarm_rate:.1%} "
            f"({len(self.false_alarms)} of {self.ordinary} ordinary messages; "
            f"{by_patterns} by patterns, {len(self.false_alarms) - by_patterns} by the classifier)"
        )
        best = self.highest_threshold_for_full_recall()
        rows.append(
            f"classifier threshold: {self.threshold:.3f}; the highest that still catches every "
            f"held-out crisis: {best:.3f} (false alarms there: "
            f"{self.false_alarm_rate_at(best):.1%})"
        )
        if show_misses:
            for name in sorted(self.categories):
                rows += [f"  missed {name}: {text}" for text in self.categories[name].missed]
            rows += [f"  false alarm ({how}): {text}" for text, how in self.false_alarms]
        return "\n".join(rows)


def evaluate_crisis(net: SafetyNet, held_out: HeldOutFile) -> CrisisEvaluation:
    """Run every held-out message through the safety net."""
    threshold = net.crisis.classifier.threshold
    result = CrisisEvaluation(threshold=threshold)
    for label, messages in held_out.categories.items():
        for text in messages:
            reading = net.read(text)
            finding = net.decide(reading)
            score, pattern_hit = reading.score, reading.pattern is not None
            if label == NONE:
                result.ordinary += 1
                result.ordinary_scores_by_text.append((text, score))
                if finding is not None:
                    how = "patterns" if finding.by_patterns else "classifier"
                    result.false_alarms.append((text, how))
                    result.false_alarms_as[finding.category] += 1
                continue
            entry = result.categories[label]
            entry.total += 1
            result.crisis_scores.append(score)
            result.pattern_only_hits.append(pattern_hit)
            if finding is None:
                entry.missed.append(text)
                continue
            entry.caught += 1
            entry.by_patterns += finding.by_patterns
            entry.by_classifier += finding.by_classifier
            entry.right_category += finding.category == label
    return result
