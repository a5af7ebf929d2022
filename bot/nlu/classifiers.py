"""Intent classifiers: logistic regression (Rasa's), a second opinion that must agree when
the first is unsure, and the fallback that asks rather than guesses."""

from __future__ import annotations

import logging
import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from bot.nlu.base import Component, ConfigError, Message
from bot.training_data import TrainingData

log = logging.getLogger(__name__)


class LogisticRegressionClassifier(Component):
    """Intent classification with scikit-learn's LogisticRegression, Rasa's settings."""

    name = "LogisticRegressionClassifier"
    defaults: ClassVar[dict[str, Any]] = {
        "max_iter": 100,
        "solver": "lbfgs",
        "tol": 1e-4,
        "random_state": 42,
        "ranking_length": 10,
        # Ours, not Rasa's (which fixes C at 1): less regularisation suits many short,
        # varied examples with dense features beside the sparse ones.
        "C": 1.0,
    }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        # The same fixed settings as Rasa's component, so a change of scikit-learn
        # defaults does not change our classifier.
        self.clf = LogisticRegression(
            C=float(self.options["C"]),
            solver=self.options["solver"],
            max_iter=self.options["max_iter"],
            class_weight="balanced",
            tol=self.options["tol"],
            random_state=self.options["random_state"],
            dual=False,
            fit_intercept=True,
            intercept_scaling=1,
            warm_start=False,
            verbose=0,
        )

    @staticmethod
    def _matrix(messages: list[Message]) -> sp.csr_matrix:
        return sp.vstack([sp.hstack(m.features).tocsr() for m in messages]).tocsr()

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Fit the classifier on the combined sentence features."""
        if not messages or not messages[0].features:
            raise ConfigError(f"{self.name} needs a featurizer before it in the pipeline")
        # One thread: the fit is small, many threads on a busy machine make it several
        # times slower, and the result would otherwise depend on the number of CPUs.
        with (
            threadpool_limits(limits=1),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            self.clf.fit(self._matrix(messages), np.array(labels))
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            # Rasa logs this too; raising max_iter in config.yml makes it go away.
            log.info("LogisticRegression did not converge in %s iterations", self.clf.max_iter)

    def _probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        """``predict_proba`` for one row, without scikit-learn's per-call checks.

        lbfgs fits a multinomial model, whose probabilities are the softmax of the
        decision function (binary: the logistic of the single column); tested against
        ``predict_proba``. liblinear fits one-vs-rest, so it keeps scikit-learn's own path.
        """
        if self.options["solver"] == "liblinear":
            return self.clf.predict_proba(features)[0]
        scores = np.asarray(features @ self.clf.coef_.T).ravel() + self.clf.intercept_
        if scores.shape[0] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - positive, positive])
        scores = scores - scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()

    def process(self, message: Message) -> None:
        """Predict the intent and a ranking of the most likely ones."""
        probabilities = self._probabilities(self._matrix([message]))
        # A stable sort, so equal confidences keep the classifier's (alphabetical) order.
        order = np.argsort(-probabilities, kind="stable")
        ranking = [
            {"name": str(self.clf.classes_[i]), "confidence": float(probabilities[i])}
            for i in order
        ]
        message.intent = dict(ranking[0])
        # As in Rasa, a ranking_length of 0 (or less) keeps the whole ranking.
        if self.options["ranking_length"] > 0:
            ranking = ranking[: self.options["ranking_length"]]
        message.intent_ranking = ranking


class SecondOpinionClassifier(Component):
    """Ours, not Rasa's: a second, different model must agree before a call counts as sure.

    A linear SVM (hinge loss) is trained on the same features as the classifier before it
    (logistic loss). When the classifier's top intent is below ``max_confidence`` and the
    SVM reads the message as another intent, the message is marked disputed, and
    FallbackClassifier asks "did you mean" instead of guessing. Two models that learn
    differently rarely make the same mistake with confidence, so this removes many wrong
    answers for a few extra taps (README "Understanding"; chosen on the development sets).
    """

    name = "SecondOpinionClassifier"
    defaults: ClassVar[dict[str, Any]] = {"C": 0.5, "max_iter": 2000, "max_confidence": 0.7}

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.svm = LinearSVC(
            C=float(self.options["C"]),
            class_weight="balanced",
            max_iter=int(self.options["max_iter"]),
            random_state=42,
        )

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Fit the SVM on the combined sentence features."""
        if not messages or not messages[0].features:
            raise ConfigError(f"{self.name} needs a featurizer before it in the pipeline")
        with (
            threadpool_limits(limits=1),
            warnings.catch_warnings(record=True),
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            self.svm.fit(LogisticRegressionClassifier._matrix(messages), np.array(labels))

    def process(self, message: Message) -> None:
        """Mark the message disputed when the SVM disagrees with an unsure top intent."""
        if not message.intent or not message.features:
            return
        if message.intent["confidence"] >= self.options["max_confidence"]:
            return
        features = LogisticRegressionClassifier._matrix([message])
        # decision_function by hand: scikit-learn's input checks cost more than the sum.
        scores = np.asarray(features @ self.svm.coef_.T).ravel() + self.svm.intercept_
        if scores.shape[0] == 1:
            other = self.svm.classes_[int(scores[0] > 0)]
        else:
            other = self.svm.classes_[int(np.argmax(scores))]
        message.disputed = str(other) != message.intent["name"]


class FallbackClassifier(Component):
    """Predict ``nlu_fallback`` when the classifier is unsure, as Rasa does."""

    name = "FallbackClassifier"
    # min_known_words is ours, not Rasa's (0 keeps Rasa's behaviour): a message with no word
    # the training data ever used ("zzqx blorp") is not understood, however confident the
    # classifier is; dense pretrained features alone can make gibberish look like an intent.
    defaults: ClassVar[dict[str, Any]] = {
        "threshold": 0.3,
        "ambiguity_threshold": 0.1,
        "min_known_words": 0,
    }

    def process(self, message: Message) -> None:
        """Replace a low-confidence, ambiguous or unknown-word intent with nlu_fallback."""
        if not message.intent:
            return
        ranking = message.intent_ranking
        unknown = (
            message.known_words is not None
            and message.known_words < self.options["min_known_words"]
        )
        below = unknown or message.intent["confidence"] < self.options["threshold"]
        below = below or message.disputed
        # Rasa only calls a prediction ambiguous when the ranking has two intents to compare.
        ambiguous = (
            len(ranking) >= 2
            and ranking[0]["confidence"] - ranking[1]["confidence"]
            < self.options["ambiguity_threshold"]
        )
        if below or ambiguous:
            fallback = {"name": "nlu_fallback", "confidence": self.options["threshold"]}
            message.intent = dict(fallback)
            # Guesses about words the model never saw are not worth offering as readings.
            message.intent_ranking = [fallback] if unknown else [fallback, *ranking]
