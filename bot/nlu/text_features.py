"""Tokens and features, as Rasa makes them: typo augmentation, the whitespace tokenizer, the
count-vectors featurizer and (optionally) pretrained word vectors."""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from bot.nlu.base import Component, ConfigError, Message
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
        # Ours, not Rasa's (the defaults keep Rasa's raw counts). log_counts turns each
        # count into log(1 + count), and norm: l2 scales this featurizer's vector to length
        # 1, so a long message and a short one weigh the same, and word and character
        # vectors weigh the same beside each other. README "Understanding" has the figures:
        # the classifier converges in a tenth of the iterations (so its result no longer
        # depends on the CPU's floating-point kernels) and is more accurate.
        "log_counts": False,
        "norm": None,
    }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        if self.options["analyzer"] not in ("word", "char", "char_wb"):
            raise ConfigError(f"{self.name}: analyzer must be word, char or char_wb")
        if self.options["norm"] not in (None, "l2"):
            raise ConfigError(f"{self.name}: norm must be l2 or left out")
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
        known_words = 0
        for gram in self._analyzer(self._text(message)):
            index = self._vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
                # Words, not word pairs: a pair is only known when both its words are.
                known_words += " " not in gram
        if self.options["analyzer"] == "word":
            message.known_words = known_words
        columns = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        values = np.array([counts[c] for c in columns.tolist()], dtype=np.int64)
        if self.options["log_counts"]:
            values = np.log1p(values)
        if self.options["norm"] == "l2" and len(values):
            values = values / np.sqrt(np.dot(values, values))
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
