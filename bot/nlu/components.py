"""Rasa's NLU components, reimplemented on scikit-learn with Rasa's defaults.

Each class takes the options Rasa documents for the component of the same name, with the
same defaults, so a config.yml written for Rasa behaves the same here.
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from bot.training_data import TrainingData

log = logging.getLogger(__name__)


def _combining_marks() -> str:
    """A character class body of Unicode's combining marks (categories Mn, Mc, Me).

    Rasa's tokenizer uses the ``regex`` module, whose ``\\w`` includes combining marks;
    the standard ``re`` module's does not, and would split words such as "क्या" (Hindi)
    or a decomposed "café" at the mark.
    """
    ranges: list[tuple[int, int]] = []
    for start, stop in ((0, 0x20000), (0xE0000, 0xE1000)):  # the planes that hold marks
        for cp in range(start, stop):
            if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
                if ranges and ranges[-1][1] == cp - 1:
                    ranges[-1] = (ranges[-1][0], cp)
                else:
                    ranges.append((cp, cp))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


_WORD = r"\w" + _combining_marks()

# Rasa's WhitespaceTokenizer removes punctuation that is not part of a word, a number,
# an email address or a URL.
_PUNCTUATION = re.compile(
    rf"[^{_WORD}#@&]+(?=\s|$)|"
    rf"(\s|^)[^{_WORD}#@&]+(?=[^0-9\s])|"
    rf"(?<=[^0-9\s])[^{_WORD}._~:/?#\[\]()@!$&*+,;=-]+(?=[^0-9\s])"
)
# Rasa drops a token that is nothing but emoji (rasa.utils.io.get_emoji_regex).
_EMOJI = re.compile(
    "[\U0001f600-\U0001f64f\U0001f300-\U0001f5ff\U0001f680-\U0001f6ff\U0001f1e0-\U0001f1ff"
    "\u2702-\u27b0\u24c2-\U0001f251\u200d\u2640-\u2642\u2600-\u2b55\u23cf\u23e9\u231a"
    "\ufe0f\u3030]+"
)


class ConfigError(Exception):
    """config.yml names a component or option this engine does not know."""


@dataclass
class Message:
    """A message moving through the pipeline."""

    text: str
    tokens: list[str] = field(default_factory=list)
    features: list[sp.csr_matrix] = field(default_factory=list)
    intent: dict[str, Any] = field(default_factory=dict)
    intent_ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    # Words of the message that the word featurizer knows from training (None: not counted).
    known_words: int | None = None
    # A second model read the message differently (SecondOpinionClassifier): not a sure call.
    disputed: bool = False


class Component:
    """A pipeline component: trained on the examples, then applied to each message."""

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ConfigError(f"{self.name} has no option(s): {', '.join(sorted(unknown))}")
        self.options = {**self.defaults, **options}

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Learn from the training messages (already processed by earlier components)."""

    def process(self, message: Message) -> None:
        """Add this component's output to the message."""


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    row[i]: row[max(0, i - 1) : i] + row[i + 1 : i + 2]
    for row in _KEYBOARD_ROWS
    for i in range(len(row))
}


class TypoAugmenter(Component):
    """Adds misspelt and re-cased copies of the training examples, at training time only.

    Not a Rasa component: people type on phones, and the stored examples stay readable while
    the model still learns that "meetnig" and "MEETING" are "meeting". Seeded, so the same
    data always gives the same model. It must come first in the pipeline.
    """

    name = "TypoAugmenter"
    defaults: ClassVar[dict[str, Any]] = {"copies": 1, "random_state": 42}

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Extend the training messages and labels in place with altered copies."""
        rng = random.Random(self.options["random_state"])
        originals = list(zip(messages, labels, strict=True))
        seen = {m.text for m in messages}
        for message, label in originals:
            for _ in range(int(self.options["copies"])):
                text = self.alter(message.text, rng)
                if text not in seen:
                    seen.add(text)
                    messages.append(Message(text=text))
                    labels.append(label)

    @staticmethod
    def alter(text: str, rng: random.Random) -> str:
        """One slip of the thumb in a longer word, or a change of case or apostrophes."""
        words = text.split(" ")
        long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        kind = rng.choice(("typo", "typo", "case", "apostrophe"))
        if kind == "typo" and long_words:
            i = rng.choice(long_words)
            word = words[i]
            j = rng.randrange(1, len(word) - 1)
            slip = rng.choice(("swap", "drop", "double", "neighbour"))
            if slip == "swap":
                word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
            elif slip == "drop":
                word = word[:j] + word[j + 1 :]
            elif slip == "double":
                word = word[:j] + word[j] + word[j:]
            else:
                near = _NEIGHBOURS.get(word[j].lower(), "")
                word = word[:j] + (rng.choice(near) if near else word[j]) + word[j + 1 :]
            words[i] = word
            return " ".join(words)
        if kind == "apostrophe" and "'" in text:
            return text.replace("'", "")
        return rng.choice((text.lower(), text.upper(), text.capitalize()))


class WhitespaceTokenizer(Component):
    """Split on whitespace after removing punctuation, as Rasa's tokenizer does."""

    name = "WhitespaceTokenizer"
    defaults: ClassVar[dict[str, Any]] = {
        "intent_tokenization_flag": False,
        "intent_split_symbol": "_",
        "token_pattern": None,
        "prefix_separator_symbol": None,
    }

    def process(self, message: Message) -> None:
        """Tokenise the message text."""
        words = _PUNCTUATION.sub(" ", message.text).split()
        words = [word for word in words if not _EMOJI.fullmatch(word)]
        # Like Rasa: when nothing is left (":)", "👍", ""), the whole text is one token.
        words = words or [message.text]
        if self.options["token_pattern"]:
            pattern = re.compile(self.options["token_pattern"])
            words = [part for word in words for part in pattern.findall(word)]
        message.tokens = words


class CountVectorsFeaturizer(Component):
    """Bag of words or of character n-grams: the sentence features Rasa's classifiers use."""

    name = "CountVectorsFeaturizer"
    defaults: ClassVar[dict[str, Any]] = {
        "analyzer": "word",
        "min_ngram": 1,
        "max_ngram": 1,
        "lowercase": True,
        "strip_accents": None,
        "stop_words": None,
        "min_df": 1,
        "max_df": 1.0,
        "max_features": None,
        "OOV_token": None,
        "OOV_words": [],
        "use_shared_vocab": False,
    }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        if self.options["analyzer"] not in ("word", "char", "char_wb"):
            raise ConfigError(f"{self.name}: analyzer must be word, char or char_wb")
        # Rasa's token pattern keeps one-letter words such as "i" and "a"; scikit-learn
        # only uses a token pattern for the word analyzer.
        pattern = r"(?u)\b\w+\b" if self.options["analyzer"] == "word" else None
        self.vectorizer = CountVectorizer(
            analyzer=self.options["analyzer"],
            token_pattern=pattern,
            ngram_range=(self.options["min_ngram"], self.options["max_ngram"]),
            lowercase=self.options["lowercase"],
            strip_accents=self.options["strip_accents"],
            stop_words=self.options["stop_words"],
            min_df=self.options["min_df"],
            max_df=self.options["max_df"],
            max_features=self.options["max_features"],
        )
        self._analyzer: Any = None
        self._vocabulary: dict[str, int] | None = None

    def _text(self, message: Message) -> str:
        tokens = message.tokens
        oov = self.options["OOV_token"]
        if oov and self.options["OOV_words"]:
            words = {w.lower() for w in self.options["OOV_words"]}
            tokens = [oov if t.lower() in words else t for t in tokens]
        return " ".join(tokens)

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Learn the vocabulary of the training examples."""
        self.vectorizer.fit([self._text(m) for m in messages])

    def process(self, message: Message) -> None:
        """Add the sentence's count vector.

        The same counts as ``vectorizer.transform`` (tested), built directly from the
        vocabulary: scikit-learn's input checks cost about ten times the arithmetic for
        one short message, and this runs on every turn.
        """
        if self._vocabulary is None:
            self._analyzer = self.vectorizer.build_analyzer()
            self._vocabulary = self.vectorizer.vocabulary_
        counts: dict[int, int] = {}
        for gram in self._analyzer(self._text(message)):
            index = self._vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if self.options["analyzer"] == "word":
            message.known_words = sum(counts.values())
        columns = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        values = np.array([counts[c] for c in columns.tolist()], dtype=np.int64)
        width = len(self._vocabulary)
        matrix = sp.csr_matrix(
            (values, columns, np.array([0, len(columns)], dtype=np.int32)), shape=(1, width)
        )
        message.features.append(matrix)

    def __getstate__(self) -> dict[str, Any]:
        # The analyzer is rebuilt after loading: it is derived, and keeping it out of the
        # pickle keeps the cached model independent of its closures.
        state = dict(self.__dict__)
        state["_analyzer"] = state["_vocabulary"] = None
        return state


class WordLlamaFeaturizer(Component):
    """Dense sentence features: the mean of WordLlama's pretrained token vectors.

    The 256-d weights (16 MB) and the tokenizer come inside the ``wordllama`` wheel from the
    package registry; they are read by explicit path with ``safetensors`` and ``tokenizers``,
    so nothing is ever downloaded (its own loader looks for ``tokenizer/``, but the wheel
    ships ``tokenizers/``, and would fall back to Hugging Face). ``scale`` weighs the dense
    features against the sparse counts.
    """

    name = "WordLlamaFeaturizer"
    defaults: ClassVar[dict[str, Any]] = {"config": "l2_supercat", "dim": 256, "scale": 1.0}

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self._vectors: np.ndarray | None = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        import importlib.util

        spec = importlib.util.find_spec("wordllama")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"{self.name} needs the wordllama package (pip install wordllama)")
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(next(iter(spec.submodule_search_locations)))
        name, dim = self.options["config"], self.options["dim"]
        weights = root / "weights" / f"{name}_{dim}.safetensors"
        tokenizer = root / "tokenizers" / f"{name}_tokenizer_config.json"
        for path in (weights, tokenizer):
            if not path.is_file():
                raise ConfigError(f"{self.name}: {path} is not in the installed wordllama")
        self._vectors = next(iter(load_file(str(weights)).values())).astype(np.float32)
        self._tokenizer = Tokenizer.from_file(str(tokenizer))

    def __getstate__(self) -> dict[str, Any]:
        # The vectors come from the installed package, not the cached model.
        state = dict(self.__dict__)
        state["_vectors"] = state["_tokenizer"] = None
        return state

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Nothing to learn: the vectors are pretrained. Loads them."""
        self._load()

    def process(self, message: Message) -> None:
        """Add the normalised mean vector of the message's tokens."""
        if self._vectors is None:
            self._load()
        assert self._vectors is not None
        ids = self._tokenizer.encode(message.text, add_special_tokens=False).ids
        row = np.zeros(self._vectors.shape[1], dtype=np.float64)
        if ids:
            picked = self._vectors[np.clip(np.array(ids), 0, len(self._vectors) - 1)]
            mean = picked.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm:
                row = mean / norm * self.options["scale"]
        message.features.append(sp.csr_matrix(row.reshape(1, -1)))


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


class RegexEntityExtractor(Component):
    """Find entities with the lookup tables and regular expressions of nlu.yml."""

    name = "RegexEntityExtractor"
    defaults: ClassVar[dict[str, Any]] = {
        "case_sensitive": False,
        "use_lookup_tables": True,
        "use_regexes": True,
        "use_word_boundaries": True,
    }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.patterns: list[tuple[str, re.Pattern[str]]] = []

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Compile one pattern per entity from lookups and regexes."""
        flags = 0 if self.options["case_sensitive"] else re.IGNORECASE
        sources: dict[str, list[str]] = {}
        if self.options["use_lookup_tables"]:
            for entity, values in data.lookups.items():
                # Longest first, so "crack cocaine" wins over "crack".
                ordered = sorted(values, key=len, reverse=True)
                sources.setdefault(entity, []).extend(re.escape(v) for v in ordered)
        if self.options["use_regexes"]:
            for entity, patterns in data.regexes.items():
                sources.setdefault(entity, []).extend(patterns)
        self.patterns = []
        for entity, alternatives in sources.items():
            body = "|".join(f"(?:{alt})" for alt in alternatives)
            if self.options["use_word_boundaries"]:
                body = rf"\b(?:{body})\b"
            self.patterns.append((entity, re.compile(body, flags)))

    def process(self, message: Message) -> None:
        """Add every match as an entity."""
        for entity, pattern in self.patterns:
            for match in pattern.finditer(message.text):
                message.entities.append(
                    {
                        "entity": entity,
                        "value": match.group(0),
                        "start": match.start(),
                        "end": match.end(),
                        "extractor": self.name,
                    }
                )


class EntitySynonymMapper(Component):
    """Map entity values to their canonical value from the synonyms in nlu.yml."""

    name = "EntitySynonymMapper"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.synonyms: dict[str, str] = {}

    def train(self, messages: list[Message], labels: list[str], data: TrainingData) -> None:
        """Remember the synonyms."""
        self.synonyms = dict(data.synonyms)

    def process(self, message: Message) -> None:
        """Replace each entity value that has a synonym."""
        for entity in message.entities:
            canonical = self.synonyms.get(str(entity["value"]).lower())
            if canonical is not None:
                entity["value"] = canonical
                entity.setdefault("processors", []).append(self.name)


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


COMPONENTS: dict[str, type[Component]] = {
    cls.name: cls
    for cls in (
        TypoAugmenter,
        WhitespaceTokenizer,
        CountVectorsFeaturizer,
        WordLlamaFeaturizer,
        LogisticRegressionClassifier,
        SecondOpinionClassifier,
        RegexEntityExtractor,
        EntitySynonymMapper,
        FallbackClassifier,
    )
}
