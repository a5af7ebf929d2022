"""`mutual-aid-bot evaluate`: held-out accuracy of the NLU and a confusion report.

Every fifth example of each intent is held out, the pipeline from config.yml is trained on
the rest, and the held-out examples are predicted. Deterministic, so the number in the test
suite and the number a person sees are the same.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sklearn.metrics import precision_recall_fscore_support

from bot.nlu.pipeline import NluPipeline
from bot.training_data import Example, TrainingData

HOLD_OUT_EVERY = 5


def split(data: TrainingData) -> tuple[list[tuple[str, Example]], list[tuple[str, Example]]]:
    """Training and held-out examples: every fifth example of each intent is held out."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for intent, example in data.examples:
        by_intent[intent].append(example)
    train: list[tuple[str, Example]] = []
    held_out: list[tuple[str, Example]] = []
    for intent, examples in by_intent.items():
        for index, example in enumerate(examples):
            target = held_out if index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else train
            target.append((intent, example))
    return train, held_out


@dataclass
class Evaluation:
    """The outcome of a held-out evaluation."""

    total: int = 0
    correct: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_intent: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of held-out examples predicted right."""
        return self.correct / self.total if self.total else 0.0

    def report(self) -> str:
        """Per-intent precision, recall and F1, then the most common confusions."""
        # scikit-learn's metrics, from the (true, predicted) pairs counted.
        pairs = [pair for pair, count in self.confusions.items() for _ in range(count)]
        intents = sorted(self.per_intent)
        rows = [f"{'intent':24} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>4}"]
        if pairs:
            truth, guesses = zip(*pairs, strict=True)
            scores = precision_recall_fscore_support(
                truth, guesses, labels=intents, zero_division=0
            )
            for intent, precision, recall, f1, n in zip(intents, *scores, strict=True):
                rows.append(f"{intent:24} {precision:9.2f} {recall:7.2f} {f1:6.2f} {n:4d}")
        rows.append("")
        rows.append(f"accuracy: {self.accuracy:.3f} ({self.correct}/{self.total} held out)")
        wrong = [(k, v) for k, v in self.confusions.most_common() if k[0] != k[1]]
        if wrong:
            rows.append("confusions (true -> predicted: count):")
            rows += [f"  {true} -> {guess}: {count}" for (true, guess), count in wrong]
        return "\n".join(rows)


def evaluate(pipeline: list[dict], data: TrainingData) -> Evaluation:
    """Train on the training part and predict the held-out part."""
    train, held_out = split(data)
    train_data = TrainingData(data.file)
    train_data.examples = train
    model = NluPipeline.train(pipeline, train_data)
    result = Evaluation()
    for intent, example in held_out:
        guess = model.parse(example.text)["intent"]["name"]
        result.total += 1
        result.correct += guess == intent
        result.confusions[(intent, guess)] += 1
        result.per_intent[intent][guess] += 1
        if guess != intent:
            result.misses.append((intent, guess, example.text))
    return result
