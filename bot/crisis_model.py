"""The trained crisis classifier: its own labelled data, its own model, beside the patterns.

It is not one intent among many in the NLU: it answers one question, "is this a crisis, and
of which kind?", and is trained on knowledge/crisis_examples/ (crisis messages by category
and hard negatives labelled ``none``). The crisis probability of a message is 1 - P(none).
The threshold is chosen for recall on tests/crisis_heldout.yml, which is never trained on,
and is kept in knowledge/crisis.yml.

Features are word 1-2 grams and character 2-5 grams of the normalised text (typos, slang and
stretched words share character n-grams), fed to a logistic regression. The trained model is
kept beside the NLU model, keyed by a hash of its data, as plain numpy arrays (.npz read
with allow_pickle=False): a stale file is never used, and loading one can never run code.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
import yaml
from pydantic import Field, ValidationError, field_validator
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.crisis_text import normalise, segments_by_kind
from bot.knowledge import Strict
from bot.yamlfiles import ContentError, line_of, read_yaml, validate_data

log = logging.getLogger(__name__)

NONE = "none"
# The logistic regression's inverse regularisation strength (see CrisisClassifier.train).
C = 256.0
# Bump when the features or the model change in a way that makes saved models stale.
MODEL_VERSION = "3"
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _key(text: str) -> str:
    """The same message whatever its case, spacing or curly apostrophes (duplicate checks)."""
    return " ".join(text.casefold().replace("\u2019", "'").split())


class CrisisExamplesFile(Strict):
    """One file of knowledge/crisis_examples/: the messages of one label."""

    category: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    examples: list[str] = Field(min_length=1)

    @field_validator("examples")
    @classmethod
    def _no_blank_or_duplicate(cls, examples: list[str]) -> list[str]:
        seen: set[str] = set()
        for example in examples:
            key = _key(example)
            if not key:
                raise ValueError("an example is blank")
            if key in seen:
                raise ValueError(f"example {example!r} appears twice")
            seen.add(key)
        return examples


@dataclass(frozen=True)
class LabelledExample:
    """One training message and its label, with the file it came from."""

    text: str
    label: str
    path: Path


_LOADED: dict[tuple[object, ...], list[LabelledExample]] = {}


def load_examples(folder: Path, labels: set[str]) -> list[LabelledExample]:
    """Every example in the folder; each file's category must be a known label or none.

    Parsed once per process while the files are unchanged (YAML with line numbers is slow,
    and every engine and test needs the same examples).
    """
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise ContentError(folder, None, "no crisis example files found")
    key = (
        tuple(sorted(labels)),
        *((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files),
    )
    if key not in _LOADED:
        examples = _load_examples(files, labels, folder)
        _LOADED.clear()  # one folder at a time: the cache never grows
        _LOADED[key] = examples
    return list(_LOADED[key])


def _parse_examples_file(path: Path) -> CrisisExamplesFile:
    """One examples file: libyaml's fast parser, or the line-keeping one to report a fault.

    Every process that starts the bot reads thousands of examples; the pure-Python loader
    that keeps line numbers takes about a second for them, libyaml a tenth of that.
    """
    try:
        fast = yaml.load(path.read_bytes(), Loader=_FAST_LOADER)  # noqa: S506 - safe loader
        return CrisisExamplesFile.model_validate(fast)
    except (OSError, yaml.YAMLError, ValidationError):
        return validate_data(read_yaml(path), CrisisExamplesFile, path)


def _load_examples(files: list[Path], labels: set[str], folder: Path) -> list[LabelledExample]:
    examples: list[LabelledExample] = []
    seen: dict[str, Path] = {}
    for path in files:
        parsed = _parse_examples_file(path)
        if parsed.category not in labels | {NONE}:
            known = ", ".join(sorted(labels | {NONE}))
            raise ContentError(
                path,
                line_of(read_yaml(path), ("category",)),
                f"category '{parsed.category}' is not a crisis category (known: {known})",
            )
        for text in parsed.examples:
            key = _key(text)
            if key in seen:
                raise ContentError(path, None, f"example {text!r} is also in {seen[key].name}")
            seen[key] = path
            examples.append(LabelledExample(text, parsed.category, path))
    present = {example.label for example in examples}
    if NONE not in present:
        raise ContentError(folder, None, "there are no 'none' examples (hard negatives)")
    return examples


@dataclass(frozen=True)
class Scored:
    """The classifier's reading of a message: the crisis probability and the likeliest kind."""

    score: float
    category: str
    segment: str
    probabilities: dict[str, float]


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    """The two feature makers, unfitted: word 1-2 grams and character 2-5 grams."""
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w[\w']*\b",  # noqa: S106 - a regex, not a password
        sublinear_tf=True,
        min_df=1,
    )
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    return words, chars


def _terms(vectorizer: TfidfVectorizer) -> np.ndarray:
    """The vocabulary as an array of terms in column order."""
    terms = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    return np.array(terms)


class _Features:
    """One fitted TF-IDF vectoriser, applied by hand to a few texts at a time.

    scikit-learn's ``transform`` builds a sparse matrix and validates its input on every
    call, which costs more than the arithmetic for a one-line message. This applies the same
    fitted analyser, vocabulary and idf weights (sublinear tf, then l2 norm), so a turn stays
    fast; tests/test_crisis_model.py checks it against ``transform`` itself.
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.analyse = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.sublinear = bool(vectorizer.sublinear_tf)

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for gram in self.analyse(text):
            column = self.vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=float, count=len(counts))
        if self.sublinear:
            values = 1.0 + np.log(values)
        values *= self.idf[columns]
        norm = float(np.sqrt(values @ values))
        return columns, values / norm if norm else values


class CrisisClassifier:
    """Crisis probability and category of a message, from its worst segment."""

    def __init__(
        self,
        words: TfidfVectorizer,
        chars: TfidfVectorizer,
        model: LogisticRegression,
        threshold: float,
        window_weight: float = 1.0,
    ) -> None:
        self.words = words
        self.chars = chars
        self.model = model
        self.threshold = threshold
        self.window_weight = window_weight
        self.labels: list[str] = [str(label) for label in model.classes_]
        self._none = self.labels.index(NONE)
        self._word_features = _Features(words)
        self._char_features = _Features(chars)
        self._offset = len(words.vocabulary_)
        self._coef = np.ascontiguousarray(model.coef_.T)  # features x labels
        self._intercept = model.intercept_

    @classmethod
    def train(
        cls, examples: list[LabelledExample], threshold: float, window_weight: float = 1.0
    ) -> CrisisClassifier:
        """Fit the features and the model on labelled examples."""
        texts = [normalise(example.text, repeats=1) for example in examples]
        labels = [example.label for example in examples]
        words, chars = _vectorizers()
        features = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        # newton-cg fits the same multinomial model as lbfgs, many times faster here. No class
        # weights: balanced weights let a few crisis examples outvote everyday messages that
        # share their words ("i think i drink too much"), which held-out data showed. C 256
        # (weaker regularisation than 32, itself weaker than 8) was chosen on the development
        # files: 128 to 512 give 13 or 14 false alarms at full recall there, 32 gave 15; 256
        # is the middle of that range.
        model = LogisticRegression(C=C, class_weight=None, max_iter=300, solver="newton-cg")
        model.fit(features, labels)
        return cls(words, chars, model, threshold, window_weight)

    def save(self, path: Path) -> None:
        """Write the fitted numbers as plain arrays (.npz without pickles), atomically."""
        arrays = {
            "words": _terms(self.words),
            "words_idf": self.words.idf_,
            "chars": _terms(self.chars),
            "chars_idf": self.chars.idf_,
            "coef": self.model.coef_,
            "intercept": self.model.intercept_,
            "classes": np.array(self.labels),
            "settings": np.array([self.threshold, self.window_weight]),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> CrisisClassifier:
        """Read a saved model; plain arrays only, so loading can never run code."""
        # Read the bytes first: np.load leaves the file open when the file is damaged.
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as data:
            words, chars = _vectorizers()
            for vectorizer, name in ((words, "words"), (chars, "chars")):
                vectorizer.vocabulary_ = {str(t): i for i, t in enumerate(data[name])}
                vectorizer.idf_ = data[f"{name}_idf"]
            model = LogisticRegression(C=C, max_iter=300, solver="newton-cg")
            model.classes_ = data["classes"].astype(object)
            model.coef_ = data["coef"]
            model.intercept_ = data["intercept"]
            model.n_features_in_ = model.coef_.shape[1]
            threshold, window_weight = (float(v) for v in data["settings"])
        if model.coef_.shape != (
            len(model.classes_),
            len(words.vocabulary_) + len(chars.vocabulary_),
        ):
            raise ValueError("the saved crisis model does not fit together")
        return cls(words, chars, model, threshold, window_weight)

    def matrix(self, texts: list[str]) -> csr_matrix:
        """The feature matrix scikit-learn builds for texts (for checks, not per turn)."""
        cleaned = [normalise(text, repeats=1) for text in texts]
        return hstack([self.words.transform(cleaned), self.chars.transform(cleaned)]).tocsr()

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities for each text (rows) and label (columns, ``self.labels``)."""
        rows = []
        for text in texts:
            cleaned = normalise(text, repeats=1)
            word_cols, word_vals = self._word_features(cleaned)
            char_cols, char_vals = self._char_features(cleaned)
            logits = self._intercept.copy()
            if word_cols.size:
                logits += word_vals @ self._coef[word_cols]
            if char_cols.size:
                logits += char_vals @ self._coef[char_cols + self._offset]
            rows.append(logits)
        logits = np.vstack(rows) if rows else np.zeros((0, len(self.labels)))
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def read(self, text: str) -> Scored | None:
        """The crisis reading of the segment that looks most like a crisis.

        Word windows count for ``window_weight`` of their probability: they are cut without
        regard to meaning, and a phrase out of context looks more alarming than it is.
        """
        sentences, windows = segments_by_kind(text)
        parts = [*sentences, *windows]
        if not parts:
            return None
        probabilities = self.probabilities(parts)
        crisis = 1.0 - probabilities[:, self._none]
        crisis[len(sentences) :] *= self.window_weight
        worst = int(np.argmax(crisis))
        row = probabilities[worst]
        ranked = sorted(
            ((p, label) for label, p in zip(self.labels, row, strict=True) if label != NONE),
            reverse=True,
        )
        return Scored(
            score=float(crisis[worst]),
            category=ranked[0][1],
            segment=parts[worst],
            probabilities={label: float(p) for label, p in zip(self.labels, row, strict=True)},
        )

    def check(self, text: str) -> str | None:
        """The crisis category, if the message's crisis probability reaches the threshold."""
        scored = self.read(text)
        if scored is None or scored.score < self.threshold:
            return None
        return scored.category


_TRAINED: dict[str, CrisisClassifier] = {}


def train_cached(
    examples: list[LabelledExample],
    ordinary: list[str],
    threshold: float,
    window_weight: float = 1.0,
    cache_dir: Path | None = None,
) -> CrisisClassifier:
    """Train on the examples plus ordinary messages as negatives; once per data.

    The model is kept in this process, and in ``cache_dir`` as plain arrays keyed by a hash
    of the data, so a new process need not train again. Ordinary messages that are also
    crisis examples are left out, so an everyday file can never teach the model that a
    crisis message is ordinary.
    """
    digest = hashlib.sha256(repr((MODEL_VERSION, threshold, window_weight)).encode())
    digest.update(sklearn.__version__.encode())
    for example in examples:
        digest.update(f"{example.label}\t{example.text}\n".encode())
    for text in ordinary:
        digest.update(f"{NONE}\t{text}\n".encode())
    key = digest.hexdigest()
    if key in _TRAINED:
        return _TRAINED[key]
    cached = cache_dir / f"crisis-{key[:24]}.npz" if cache_dir else None
    classifier = None
    if cached and cached.exists():
        try:
            classifier = CrisisClassifier.load(cached)
        except Exception as exc:  # a damaged or truncated file is retrained, never fatal
            log.warning("the cached crisis model could not be read (%s); training again", exc)
    if classifier is None:
        crisis_texts = {normalise(e.text) for e in examples}
        extra = [
            LabelledExample(text, NONE, Path("dialogues/nlu.yml"))
            for text in dict.fromkeys(ordinary)
            if normalise(text) not in crisis_texts
        ]
        classifier = CrisisClassifier.train([*examples, *extra], threshold, window_weight)
        if cached:
            try:
                classifier.save(cached)
            except OSError as exc:
                log.warning("the crisis model could not be cached in %s: %s", cached.parent, exc)
    _TRAINED.clear()  # one data set at a time: the cache never grows
    _TRAINED[key] = classifier
    return classifier
