"""The NLU components behave like the Rasa components of the same name."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.feature_extraction.text import CountVectorizer

from bot.nlu.components import (
    COMPONENTS,
    ConfigError,
    CountVectorsFeaturizer,
    EntitySynonymMapper,
    FallbackClassifier,
    LogisticRegressionClassifier,
    Message,
    RegexEntityExtractor,
    SecondOpinionClassifier,
    TypoAugmenter,
    WhitespaceTokenizer,
    WordLlamaFeaturizer,
)
from bot.nlu.pipeline import NluPipeline, build_components
from bot.training_data import NluFile, TrainingData

TOY_NLU = """
nlu:
  - intent: greet
    examples: |
      - hi
      - hello there
      - good morning
      - hey
  - intent: goodbye
    examples: |
      - bye
      - see you later
      - goodbye then
      - catch you later
  - intent: ask_group
    examples: |
      - tell me about [AA](option:aa)
      - what is [smart recovery](option:smart_recovery)
      - more about [NA](option:na)
      - what groups are there
  - lookup: option
    examples: |
      - aa
      - smart
      - smart recovery
      - na
  - synonym: smart_recovery
    examples: |
      - smart
      - smart recovery
  - regex: postcode
    examples: |
      - [A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}
"""

SENTENCES = [
    "i want to stop drinking",
    "what groups are there near me",
    "a friend said i should try AA",
    "is smart recovery any good",
    "i drink a lot",
]


def toy_data(text: str = TOY_NLU) -> TrainingData:
    """Training data from an nlu.yml given as a string."""
    return TrainingData(NluFile.model_validate(yaml.safe_load(text)))


def tokens(text: str, **options: object) -> list[str]:
    """The tokens WhitespaceTokenizer makes of a text."""
    message = Message(text=text)
    WhitespaceTokenizer(dict(options)).process(message)
    return message.tokens


def tokenised(texts: list[str]) -> list[Message]:
    """Messages that have been through the tokenizer."""
    messages = [Message(text=t) for t in texts]
    tokenizer = WhitespaceTokenizer({})
    for message in messages:
        tokenizer.process(message)
    return messages


# --- WhitespaceTokenizer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello, world!", ["hello", "world"]),
        ("Forecast for lunch", ["Forecast", "for", "lunch"]),
        # Rasa splits contractions at the apostrophe (its own test: "how're" -> how, re).
        ("hey ńöñàśçií how're you?", ["hey", "ńöñàśçií", "how", "re", "you"]),
        ("i don't know", ["i", "don", "t", "know"]),
        ("it costs 10.5 pounds.", ["it", "costs", "10.5", "pounds"]),
        ("10'000.00", ["10'000.00"]),
        ("email jo.bloggs@example.org please", ["email", "jo.bloggs@example.org", "please"]),
        (
            "привет! 10.000, ńöñàśçií. (how're you?)",
            ["привет", "10.000", "ńöñàśçií", "how", "re", "you"],
        ),
        (
            "see https://rasa.com/docs/rasa/components#whitespacetokenizer now",
            ["see", "https://rasa.com/docs/rasa/components#whitespacetokenizer", "now"],
        ),
        ("A&E or #help", ["A&E", "or", "#help"]),
        # Words with combining marks stay whole (Rasa's own Hindi example).
        (
            "50 क्या आपके पास डेरी मिल्क 10 वाले",
            ["50", "क्या", "आपके", "पास", "डेरी", "मिल्क", "10", "वाले"],
        ),
        ("cafe\u0301 ok", ["cafe\u0301", "ok"]),
        # Emoji-only tokens go; if nothing is left, the whole text is the token.
        ("Joselico gracias Dois 🙏🇺🇸🏦🛠🔥⭐️🦅👑💪", ["Joselico", "gracias", "Dois"]),
        ("thanks 👍 mate", ["thanks", "mate"]),
        (":)", [":)"]),
        ("Hi :-)", ["Hi"]),
        ("👍", ["👍"]),
        ("", [""]),
    ],
)
def test_tokenizer_matches_rasa(text, expected):
    assert tokens(text) == expected


def test_tokenizer_keeps_case_and_applies_token_pattern():
    assert tokens("Tell me about AA") == ["Tell", "me", "about", "AA"]
    # token_pattern splits each token further, as Rasa's _apply_token_pattern does.
    assert tokens("smart_recovery rocks", token_pattern=r"[a-z]+") == [
        "smart",
        "recovery",
        "rocks",
    ]


# --- CountVectorsFeaturizer --------------------------------------------------------------


def test_word_featurizer_is_sklearn_count_vectorizer_with_rasa_token_pattern():
    messages = tokenised(SENTENCES)
    featurizer = CountVectorsFeaturizer({})
    featurizer.train(messages, [], toy_data())
    for message in messages:
        featurizer.process(message)

    joined = [" ".join(m.tokens) for m in messages]
    reference = CountVectorizer(token_pattern=r"(?u)\b\w+\b").fit(joined)
    assert featurizer.vectorizer.vocabulary_ == reference.vocabulary_
    # One-letter words count, unlike scikit-learn's default pattern.
    assert {"i", "a"} <= set(featurizer.vectorizer.vocabulary_)
    # Lower-cased: "AA" and "aa" are one feature.
    assert "aa" in featurizer.vectorizer.vocabulary_
    ours = np.vstack([m.features[0].toarray() for m in messages])
    assert np.array_equal(ours, reference.transform(joined).toarray())

    unseen = tokenised(["AA AA and unknownword"])[0]
    featurizer.process(unseen)
    row = unseen.features[0].toarray()[0]
    assert row[featurizer.vectorizer.vocabulary_["aa"]] == 2
    assert row.sum() == 2  # "and" and "unknownword" are not in the vocabulary


def test_char_wb_featurizer_uses_configured_ngram_range():
    messages = tokenised(SENTENCES)
    featurizer = CountVectorsFeaturizer({"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4})
    featurizer.train(messages, [], toy_data())
    for message in messages:
        featurizer.process(message)

    joined = [" ".join(m.tokens) for m in messages]
    reference = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).fit(joined)
    assert featurizer.vectorizer.vocabulary_ == reference.vocabulary_
    lengths = {len(gram.strip()) for gram in featurizer.vectorizer.vocabulary_}
    assert max(len(gram) for gram in featurizer.vectorizer.vocabulary_) == 4
    assert 1 in lengths
    ours = np.vstack([m.features[0].toarray() for m in messages])
    assert np.array_equal(ours, reference.transform(joined).toarray())


def test_featurizer_oov_token_replaces_listed_words():
    messages = tokenised(["i like tea", "i like coffee"])
    featurizer = CountVectorsFeaturizer({"OOV_token": "oov", "OOV_words": ["Coffee"]})
    featurizer.train(messages, [], toy_data())
    assert "coffee" not in featurizer.vectorizer.vocabulary_
    assert "oov" in featurizer.vectorizer.vocabulary_


def test_featurizer_rejects_unknown_analyzer():
    with pytest.raises(ConfigError, match="analyzer must be word, char or char_wb"):
        CountVectorsFeaturizer({"analyzer": "sentence"})


def test_featurizer_log_counts_and_l2_norm_scale_the_counts():
    messages = tokenised(SENTENCES)
    raw = CountVectorsFeaturizer({})
    scaled = CountVectorsFeaturizer({"log_counts": True, "norm": "l2"})
    for featurizer in (raw, scaled):
        featurizer.train(messages, [], toy_data())
    message = tokenised(["AA AA AA and meetings"])[0]
    raw.process(message)
    scaled.process(message)
    counts, row = message.features[0].toarray()[0], message.features[1].toarray()[0]
    # log(1 + count), then length 1: the same words, weighed down when repeated.
    expected = np.log1p(counts) / np.linalg.norm(np.log1p(counts))
    assert np.allclose(row, expected)
    assert np.isclose(np.linalg.norm(row), 1.0)


def test_featurizer_l2_norm_leaves_an_unknown_message_empty():
    messages = tokenised(SENTENCES)
    featurizer = CountVectorsFeaturizer({"log_counts": True, "norm": "l2"})
    featurizer.train(messages, [], toy_data())
    unknown = tokenised(["zzqx blorp"])[0]
    featurizer.process(unknown)
    assert unknown.features[0].nnz == 0  # no division by zero, no NaN
    assert unknown.known_words == 0


def test_word_pairs_do_not_count_as_known_words():
    messages = tokenised(["going to a meeting", "a meeting tonight"])
    featurizer = CountVectorsFeaturizer({"max_ngram": 2})
    featurizer.train(messages, [], toy_data())
    assert "a meeting" in featurizer.vectorizer.vocabulary_
    message = tokenised(["a meeting"])[0]
    featurizer.process(message)
    assert message.features[0].nnz == 3  # "a", "meeting" and "a meeting"
    assert message.known_words == 2


def test_featurizer_rejects_an_unknown_norm():
    with pytest.raises(ConfigError, match="norm must be l2"):
        CountVectorsFeaturizer({"norm": "l1"})


# --- LogisticRegressionClassifier --------------------------------------------------------


def effective_penalty(params: dict[str, object]) -> str:
    """The penalty, whether this scikit-learn spells it with penalty= or l1_ratio=."""
    if params["penalty"] == "deprecated":  # scikit-learn >= 1.8: l1_ratio 0 means L2
        return "l2" if params["l1_ratio"] in (0, 0.0) else "elasticnet"
    return str(params["penalty"])


def test_logistic_regression_has_rasas_fixed_settings():
    options = {"max_iter": 1000, "solver": "lbfgs", "tol": 0.0001, "random_state": 42}
    params = LogisticRegressionClassifier(options).clf.get_params()
    assert params["solver"] == "lbfgs"
    assert params["max_iter"] == 1000
    assert params["class_weight"] == "balanced"
    assert params["tol"] == 0.0001
    assert params["random_state"] == 42
    assert params["fit_intercept"] is True
    assert params["intercept_scaling"] == 1
    assert params["dual"] is False
    assert params["warm_start"] is False
    assert params["C"] == 1.0
    assert effective_penalty(params) == "l2"


def test_logistic_regression_defaults_are_rasas():
    component = LogisticRegressionClassifier({})
    assert component.options == {
        "max_iter": 100,
        "solver": "lbfgs",
        "tol": 1e-4,
        "random_state": 42,
        "ranking_length": 10,
        "C": 1.0,  # ours; Rasa's fixed value is the default
    }
    params = component.clf.get_params()
    assert (params["max_iter"], params["solver"], params["tol"]) == (100, "lbfgs", 1e-4)
    assert params["class_weight"] == "balanced"


def test_logistic_regression_options_reach_the_estimator():
    params = LogisticRegressionClassifier(
        {"max_iter": 250, "solver": "liblinear", "tol": 0.01, "random_state": 7}
    ).clf.get_params()
    assert (params["max_iter"], params["solver"], params["tol"], params["random_state"]) == (
        250,
        "liblinear",
        0.01,
        7,
    )


def toy_pipeline(
    ranking_length: int = 10, fallback: float | None = None
) -> list[dict[str, object]]:
    """A small Rasa pipeline for the toy data, with a FallbackClassifier if given."""
    pipeline: list[dict[str, object]] = [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "LogisticRegressionClassifier", "ranking_length": ranking_length},
    ]
    if fallback is not None:
        pipeline.append({"name": "FallbackClassifier", "threshold": fallback})
    return pipeline


@pytest.fixture(scope="module")
def toy_model() -> NluPipeline:
    return NluPipeline.train(toy_pipeline(ranking_length=2), toy_data())


def test_prediction_ranking_is_sorted_and_cut_to_ranking_length(toy_model):
    result = toy_model.parse("hello")
    ranking = result["intent_ranking"]
    assert len(ranking) == 2
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert result["intent"] == ranking[0]
    assert result["intent"]["name"] == "greet"
    assert all(isinstance(r["confidence"], float) for r in ranking)


def test_ranking_covers_every_intent_and_sums_to_one():
    model = NluPipeline.train(toy_pipeline(ranking_length=10), toy_data())
    ranking = model.parse("see you later")["intent_ranking"]
    assert {r["name"] for r in ranking} == {"greet", "goodbye", "ask_group"}
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking[0]["name"] == "goodbye"


def test_ranking_length_zero_keeps_the_whole_ranking():
    # Rasa: a ranking_length of 0 means "report every intent".
    model = NluPipeline.train(toy_pipeline(ranking_length=0), toy_data())
    result = model.parse("bye")
    assert len(result["intent_ranking"]) == 3
    assert result["intent"]["name"] == "goodbye"


def test_prediction_is_reproducible():
    first = NluPipeline.train(toy_pipeline(), toy_data()).parse("what is aa")
    second = NluPipeline.train(toy_pipeline(), toy_data()).parse("what is aa")
    assert first["intent_ranking"] == second["intent_ranking"]


def test_classifier_without_featurizer_is_a_config_error():
    pipeline = [{"name": "WhitespaceTokenizer"}, {"name": "LogisticRegressionClassifier"}]
    with pytest.raises(ConfigError, match="needs a featurizer"):
        NluPipeline.train(pipeline, toy_data())


# --- FallbackClassifier ------------------------------------------------------------------


def classified(*confidences: float) -> Message:
    """A message as the intent classifier leaves it."""
    ranking = [{"name": f"intent_{i}", "confidence": c} for i, c in enumerate(confidences)]
    return Message(text="x", intent=dict(ranking[0]), intent_ranking=ranking)


def test_fallback_defaults_are_rasas():
    assert FallbackClassifier({}).options == {
        "threshold": 0.3,
        "ambiguity_threshold": 0.1,
        "min_known_words": 0,  # ours; 0 keeps Rasa's behaviour
    }


def test_fallback_when_no_word_is_known():
    pipeline = [*toy_pipeline(), {"name": "FallbackClassifier", "min_known_words": 1}]
    model = NluPipeline.train(pipeline, toy_data())
    unknown = model.parse("zzqx blorp vrrm")
    assert unknown["intent"]["name"] == "nlu_fallback"
    assert [r["name"] for r in unknown["intent_ranking"]] == ["nlu_fallback"]
    assert model.parse("hello")["intent"]["name"] == "greet"
    # Without the option, the classifier's guess stands, as in Rasa.
    plain = NluPipeline.train([*toy_pipeline(), {"name": "FallbackClassifier"}], toy_data())
    assert plain.parse("zzqx blorp vrrm")["intent"]["name"] != "nlu_fallback"


def test_fallback_below_threshold():
    message = classified(0.25, 0.05)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.1}).process(message)
    assert message.intent == {"name": "nlu_fallback", "confidence": 0.3}
    # The fallback goes first, the classifier's ranking is kept behind it.
    assert message.intent_ranking[0] == {"name": "nlu_fallback", "confidence": 0.3}
    assert [r["name"] for r in message.intent_ranking[1:]] == ["intent_0", "intent_1"]


def test_fallback_when_top_two_are_too_close():
    message = classified(0.48, 0.42, 0.10)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.1}).process(message)
    assert message.intent == {"name": "nlu_fallback", "confidence": 0.3}
    assert len(message.intent_ranking) == 4


def test_no_fallback_for_a_clear_prediction():
    message = classified(0.7, 0.2, 0.1)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.1}).process(message)
    assert message.intent == {"name": "intent_0", "confidence": 0.7}
    assert [r["name"] for r in message.intent_ranking] == ["intent_0", "intent_1", "intent_2"]


def test_fallback_threshold_is_strictly_below():
    message = classified(0.3, 0.1)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.1}).process(message)
    assert message.intent["name"] == "intent_0"


def test_ambiguity_needs_two_ranked_intents():
    # With a one-intent ranking there is nothing to be ambiguous with (as in Rasa).
    message = classified(0.35)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.5}).process(message)
    assert message.intent["name"] == "intent_0"


def test_fallback_in_a_trained_pipeline():
    model = NluPipeline.train(toy_pipeline(fallback=0.99), toy_data())
    result = model.parse("zzz qqq")
    assert result["intent"] == {"name": "nlu_fallback", "confidence": 0.99}
    assert result["intent_ranking"][0]["name"] == "nlu_fallback"
    assert result["intent_ranking"][1]["name"] in {"greet", "goodbye", "ask_group"}


# --- RegexEntityExtractor and EntitySynonymMapper ----------------------------------------


def extract(text: str, **options: object) -> list[dict[str, object]]:
    extractor = RegexEntityExtractor(dict(options))
    extractor.train([], [], toy_data())
    message = Message(text=text)
    extractor.process(message)
    return message.entities


def test_regex_extractor_defaults_are_rasas():
    assert RegexEntityExtractor({}).options == {
        "case_sensitive": False,
        "use_lookup_tables": True,
        "use_regexes": True,
        "use_word_boundaries": True,
    }


def test_lookup_value_found_with_position():
    entities = extract("tell me about aa please")
    assert entities == [
        {
            "entity": "option",
            "value": "aa",
            "start": 14,
            "end": 16,
            "extractor": "RegexEntityExtractor",
        }
    ]


def test_lookup_is_case_insensitive_by_default():
    assert [e["value"] for e in extract("What is SMART Recovery?")] == ["SMART Recovery"]
    assert extract("What is SMART Recovery?", case_sensitive=True) == []


def test_lookup_prefers_the_longest_value():
    entities = extract("i went to smart recovery")
    assert [(e["value"], e["start"], e["end"]) for e in entities] == [("smart recovery", 10, 24)]


def test_lookup_respects_word_boundaries():
    assert extract("my smartphone and my banana") == []
    loose = extract("my smartphone", use_word_boundaries=False)
    assert [e["value"] for e in loose] == ["smart"]


def test_finds_every_occurrence():
    values = [e["value"] for e in extract("AA or NA, or maybe aa")]
    assert values == ["AA", "NA", "aa"]


def test_regexes_and_lookup_switches():
    found = extract("i live near SW1A 1AA")
    assert ("postcode", "SW1A 1AA") in [(e["entity"], e["value"]) for e in found]
    assert all(e["entity"] != "postcode" for e in extract("near SW1A 1AA", use_regexes=False))
    assert extract("tell me about aa", use_lookup_tables=False) == []


def test_synonym_mapper_maps_values_case_insensitively():
    data = toy_data()
    mapper = EntitySynonymMapper({})
    mapper.train([], [], data)
    message = Message(
        text="x",
        entities=[
            {"entity": "option", "value": "Smart Recovery"},
            {"entity": "option", "value": "SMART"},
            {"entity": "option", "value": "aa"},
        ],
    )
    mapper.process(message)
    assert [e["value"] for e in message.entities] == ["smart_recovery", "smart_recovery", "aa"]
    assert message.entities[0]["processors"] == ["EntitySynonymMapper"]
    assert "processors" not in message.entities[2]


def test_synonyms_from_annotated_examples():
    data = toy_data(
        TOY_NLU
        + """
  - intent: ask_more
    examples: |
      - what about [alcoholics anonymous](option:aa)
"""
    )
    assert data.synonyms["smart recovery"] == "smart_recovery"  # a synonym block
    # An annotation whose text differs from its value is a synonym, as in Rasa...
    assert data.synonyms["alcoholics anonymous"] == "aa"
    # ...but "[AA](option:aa)" differs only in case, so it adds none.
    assert "aa" not in data.synonyms


def test_extractor_and_mapper_together():
    model = NluPipeline.train(
        [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexEntityExtractor"},
            {"name": "EntitySynonymMapper"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "LogisticRegressionClassifier"},
        ],
        toy_data(),
    )
    entities = model.parse("tell me about Smart")["entities"]
    assert [(e["entity"], e["value"]) for e in entities] == [("option", "smart_recovery")]


# --- configuration errors ----------------------------------------------------------------


def test_every_component_is_registered():
    assert set(COMPONENTS) == {
        "WhitespaceTokenizer",
        "CountVectorsFeaturizer",
        "LogisticRegressionClassifier",
        "RegexEntityExtractor",
        "EntitySynonymMapper",
        "FallbackClassifier",
        "TypoAugmenter",
        "SecondOpinionClassifier",
        "WordLlamaFeaturizer",
    }


def test_unknown_component_is_a_clear_config_error():
    pipeline = [{"name": "WhitespaceTokenizer"}, {"name": "DIETClassifier", "epochs": 100}]
    with pytest.raises(ConfigError) as error:
        build_components(pipeline)
    message = str(error.value)
    assert "pipeline item 2" in message
    assert "'DIETClassifier'" in message
    assert "LogisticRegressionClassifier" in message  # lists the known names


def test_component_without_a_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown component None"):
        build_components([{"threshold": 0.3}])


def test_unknown_option_is_a_clear_config_error():
    with pytest.raises(ConfigError) as error:
        build_components([{"name": "FallbackClassifier", "treshold": 0.3, "colour": "red"}])
    assert str(error.value) == "FallbackClassifier has no option(s): colour, treshold"


def test_build_components_does_not_change_the_config():
    pipeline = [{"name": "FallbackClassifier", "threshold": 0.4}]
    components = build_components(pipeline)
    assert pipeline == [{"name": "FallbackClassifier", "threshold": 0.4}]
    assert isinstance(components[0], FallbackClassifier)
    assert components[0].options["threshold"] == 0.4


def test_no_examples_is_a_config_error():
    with pytest.raises(ConfigError, match="no NLU examples"):
        NluPipeline.train(toy_pipeline(), toy_data("nlu: []"))


def two_intent_data() -> TrainingData:
    """The toy data with only greet and goodbye: a binary classifier."""
    blocks = yaml.safe_load(TOY_NLU)["nlu"]
    kept = [b for b in blocks if b.get("intent") in ("greet", "goodbye")]
    return TrainingData(NluFile.model_validate({"nlu": kept}))


@pytest.mark.parametrize(
    ("solver", "two_intents"), [("lbfgs", False), ("lbfgs", True), ("liblinear", True)]
)
def test_probabilities_match_sklearn_predict_proba(solver, two_intents):
    # The classifier computes probabilities itself on the hot path; they must be
    # scikit-learn's: multinomial (lbfgs), binary, and one-vs-rest (liblinear).
    pipeline = toy_pipeline(ranking_length=0)
    pipeline[2]["solver"] = solver
    model = NluPipeline.train(pipeline, two_intent_data() if two_intents else toy_data())
    classifier = model.components[2]
    for text in [*SENTENCES, "hello", "bye bye", "zzz unknown words"]:
        message = Message(text=text)
        for component in model.components[:2]:
            component.process(message)
        features = classifier._matrix([message])
        expected = classifier.clf.predict_proba(features)[0]
        assert np.allclose(classifier._probabilities(features), expected, atol=1e-12)


def test_featurizer_works_after_a_pickle_round_trip():
    import pickle

    model = NluPipeline.train(toy_pipeline(), toy_data())
    before = model.parse("tell me about AA")
    restored = pickle.loads(pickle.dumps(model))
    assert restored.parse("tell me about AA") == before


# --- TypoAugmenter and WordLlamaFeaturizer (ours) -----------------------------------------


def test_c_option_reaches_the_estimator():
    assert LogisticRegressionClassifier({"C": 7.5}).clf.get_params()["C"] == 7.5


def test_augmenter_adds_one_altered_copy_per_example_and_keeps_labels_in_step():
    messages = [Message(text=t) for t in SENTENCES]
    labels = [f"label{i}" for i in range(len(SENTENCES))]
    TypoAugmenter({"copies": 1}).train(messages, labels, toy_data())
    assert len(messages) == len(labels)
    assert len(SENTENCES) < len(messages) <= 2 * len(SENTENCES)
    originals = dict(zip(SENTENCES, labels[: len(SENTENCES)], strict=True))
    for message, label in zip(messages[len(SENTENCES) :], labels[len(SENTENCES) :], strict=True):
        assert message.text not in originals
        # A copy is one small change away from the example of the same label.
        source = next(t for t, lab in originals.items() if lab == label)
        assert len(message.text) >= len(source) - 1


def test_augmenter_is_reproducible_and_does_nothing_at_parse_time():
    first = [Message(text=t) for t in SENTENCES]
    second = [Message(text=t) for t in SENTENCES]
    TypoAugmenter({}).train(first, ["a"] * len(SENTENCES), toy_data())
    TypoAugmenter({}).train(second, ["a"] * len(SENTENCES), toy_data())
    assert [m.text for m in first] == [m.text for m in second]
    message = Message(text="hello there")
    TypoAugmenter({}).process(message)
    assert message.text == "hello there"
    assert message.features == []


@pytest.mark.parametrize("text", ["i need to stop drinking", "Meeting", "ok"])
def test_augmenter_alterations_stay_close(text):
    import random

    rng = random.Random(1)
    for _ in range(20):
        altered = TypoAugmenter.alter(text, rng)
        assert abs(len(altered) - len(text)) <= 1
        assert altered.lower().replace(" ", "")[:1] == text.lower().replace(" ", "")[:1]


def _needs_wordllama() -> None:
    pytest.importorskip("wordllama", reason="wordllama (the 'vectors' extra) is not installed")


def test_wordllama_features_are_unit_vectors_from_the_packaged_weights():
    _needs_wordllama()
    featurizer = WordLlamaFeaturizer({"scale": 2.0})
    featurizer.train([], [], toy_data())
    message = Message(text="is smart recovery free")
    featurizer.process(message)
    row = message.features[0].toarray()[0]
    assert row.shape == (256,)
    assert np.linalg.norm(row) == pytest.approx(2.0)
    close, far = Message(text="is smart recovery free of charge"), Message(text="bye")
    featurizer.process(close)
    featurizer.process(far)
    similarity = row @ close.features[0].toarray()[0]
    assert similarity > row @ far.features[0].toarray()[0]


def test_wordllama_never_reaches_the_network(monkeypatch):
    # Loading reads two files from the installed package; any download attempt fails here.
    _needs_wordllama()
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("WordLlamaFeaturizer tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    featurizer = WordLlamaFeaturizer({})
    featurizer.train([], [], toy_data())
    message = Message(text="")
    featurizer.process(message)
    assert message.features[0].nnz == 0  # nothing to average: a zero row, not an error


def test_wordllama_unknown_weights_are_a_config_error():
    _needs_wordllama()
    with pytest.raises(ConfigError, match="not in the installed wordllama"):
        WordLlamaFeaturizer({"dim": 999}).train([], [], toy_data())


def _featurised(
    texts: list[str],
) -> tuple[list[Message], WhitespaceTokenizer, CountVectorsFeaturizer]:
    tokenizer = WhitespaceTokenizer({})
    featurizer = CountVectorsFeaturizer({})
    messages = [Message(text=t) for t in texts]
    for m in messages:
        tokenizer.process(m)
    featurizer.train(messages, [], TrainingData(NluFile(nlu=[])))
    for m in messages:
        featurizer.process(m)
    return messages, tokenizer, featurizer


def test_second_opinion_disputes_an_unsure_intent_the_svm_reads_otherwise():
    texts = ["is it free", "does it cost money", "hello there", "hi hello"]
    labels = ["cost", "cost", "greet", "greet"]
    messages, tokenizer, featurizer = _featurised(texts)
    second = SecondOpinionClassifier({"max_confidence": 0.9})
    second.train(messages, labels, TrainingData(NluFile(nlu=[])))

    def read(text: str, intent: str, confidence: float) -> Message:
        message = Message(text=text)
        tokenizer.process(message)
        featurizer.process(message)
        message.intent = {"name": intent, "confidence": confidence}
        message.intent_ranking = [dict(message.intent)]
        second.process(message)
        return message

    assert read("hello hello", "cost", 0.6).disputed  # the SVM says greet
    assert not read("hello hello", "greet", 0.6).disputed  # the two agree
    assert not read("hello hello", "cost", 0.95).disputed  # sure enough on its own
    disputed = read("hello hello", "cost", 0.6)
    FallbackClassifier({"threshold": 0.3, "ambiguity_threshold": 0.0}).process(disputed)
    assert disputed.intent["name"] == "nlu_fallback"
    assert [r["name"] for r in disputed.intent_ranking] == ["nlu_fallback", "cost"]


def test_second_opinion_needs_features():
    with pytest.raises(ConfigError, match="featurizer"):
        SecondOpinionClassifier({}).train(
            [Message(text="x")], ["a"], TrainingData(NluFile(nlu=[]))
        )
