"""Rasa's NLU components, reimplemented on scikit-learn with Rasa's defaults.

Each class takes the options Rasa documents for the component of the same name, with the
same defaults, so a config.yml written for Rasa behaves the same here. The classes live in
bot/nlu/text_features.py, classifiers.py and entities.py; this module names them.
"""

from __future__ import annotations

from bot.nlu.base import Component, ConfigError, Message
from bot.nlu.classifiers import (
    FallbackClassifier,
    LogisticRegressionClassifier,
    SecondOpinionClassifier,
)
from bot.nlu.entities import EntitySynonymMapper, RegexEntityExtractor
from bot.nlu.text_features import (
    CountVectorsFeaturizer,
    TypoAugmenter,
    WhitespaceTokenizer,
    WordLlamaFeaturizer,
)

__all__ = [
    "COMPONENTS",
    "Component",
    "ConfigError",
    "CountVectorsFeaturizer",
    "EntitySynonymMapper",
    "FallbackClassifier",
    "LogisticRegressionClassifier",
    "Message",
    "RegexEntityExtractor",
    "SecondOpinionClassifier",
    "TypoAugmenter",
    "WhitespaceTokenizer",
    "WordLlamaFeaturizer",
]

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
