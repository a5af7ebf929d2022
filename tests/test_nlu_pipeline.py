"""The NLU pipeline trained from the real config.yml and dialogues/nlu.yml, and its cache."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from bot.engine.config import load_config
from bot.nlu.components import ConfigError
from bot.nlu.pipeline import NluPipeline, load_or_train, model_key
from bot.settings import PROJECT_DIR
from bot.training_data import TrainingData

NLU_PATH = PROJECT_DIR / "dialogues" / "nlu.yml"


@pytest.fixture(scope="module")
def pipeline_config() -> list[dict[str, object]]:
    return load_config(PROJECT_DIR / "config.yml").pipeline_specs()


@pytest.fixture(scope="module")
def training() -> TrainingData:
    return TrainingData.load(NLU_PATH)


@pytest.fixture(scope="module")
def model(pipeline_config, training, models_dir) -> NluPipeline:
    trained, _ = load_or_train(pipeline_config, NLU_PATH, training, models_dir)
    return trained


@pytest.fixture(scope="module")
def cache_pipeline(pipeline_config) -> list[dict[str, object]]:
    """The project's pipeline without its slow parts, for the tests of the model cache.

    The cache is about files and keys, not about the model, and each of these tests trains
    at least once: the pretrained vectors, the typo copies and training the classifier to
    its optimum would make that ~30 s each. A loose tolerance still learns the examples.
    """
    return [
        {**item, "tol": 0.001} if item["name"] == "LogisticRegressionClassifier" else item
        for item in pipeline_config
        if item["name"] not in ("WordLlamaFeaturizer", "TypoAugmenter")
    ]


def entity_values(result: dict[str, object]) -> set[tuple[str, str]]:
    return {(e["entity"], e["value"]) for e in result["entities"]}  # type: ignore[index]


# --- predictions of the real model -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what support groups can i go to", "list_options"),
        ("cheers", "thanks"),
        ("thanks very much", "thanks"),
        ("hello there", "greet"),
        ("bye then", "goodbye"),
        ("yes please", "affirm"),
        ("start over again", "restart"),
        ("what are mutual aid groups", "what_is_mutual_aid"),
        ("i want to plan going to a meeting", "plan_meeting"),
        ("what can this bot do", "help"),
    ],
)
def test_held_out_phrasings(model, text, intent):
    result = model.parse(text)
    assert result["text"] == text
    assert result["intent"]["name"] == intent, result["intent_ranking"][:3]
    assert result["intent"]["confidence"] >= 0.5


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("tell me about AA", "aa"),
        ("tell me about smart recovery", "smart_recovery"),
        ("what is narcotics anonymous like", "na"),
        ("what's Alcoholics Anonymous like", "aa"),
    ],
)
def test_option_details_with_entity(model, text, option):
    result = model.parse(text)
    assert result["intent"]["name"] == "option_details"
    assert entity_values(result) == {("option", option)}


def test_parse_result_has_rasas_shape(model):
    result = model.parse("tell me about AA")
    assert set(result) == {"text", "intent", "intent_ranking", "entities"}
    ranking = result["intent_ranking"]
    assert len(ranking) == 10  # Rasa's default ranking_length
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert ranking[0] == result["intent"]
    entity = result["entities"][0]
    assert (entity["start"], entity["end"]) == (14, 16)
    assert entity["extractor"] == "RegexEntityExtractor"
    assert entity["processors"] == ["EntitySynonymMapper"]


def test_model_knows_every_intent(model, training):
    assert model.intents == training.intents()
    ranked = model.parse("hello")["intent_ranking"]
    assert {r["name"] for r in ranked} <= set(training.intents())


def test_training_examples_are_learnt(model, training):
    wrong = [
        (intent, example.text, model.parse(example.text)["intent"]["name"])
        for intent, example in training.examples
        if model.parse(example.text)["intent"]["name"] != intent
    ]
    # "na" is both a deny example and the option NA: the model cannot tell them apart.
    assert len(wrong) <= 0.02 * len(training.examples), wrong


def test_annotated_entities_are_extracted(model, training):
    missed = []
    for _, example in training.examples:
        wanted = {(e.entity, e.value) for e in example.entities}
        if not wanted <= entity_values(model.parse(example.text)):
            missed.append((example.text, sorted(wanted)))
    assert not missed


@pytest.mark.parametrize(
    "text", ["asdfgh", "qwertyuiop", "zzzzzz", "jkjkjk lplp", "xqzv blorf wibble", "?!?!"]
)
def test_nonsense_falls_back_or_is_unsure(model, pipeline_config, text):
    intent = model.parse(text)["intent"]
    # Real requests score 0.8 and more; keyboard mashing must not look like one.
    assert intent["name"] == "nlu_fallback" or intent["confidence"] < 0.6, intent
    if intent["name"] == "nlu_fallback":
        fallback = next(c for c in pipeline_config if c["name"] == "FallbackClassifier")
        assert intent["confidence"] == fallback["threshold"]


@pytest.mark.parametrize(
    "text", ["what's the weather tomorrow", "who won the match last night", "tell me a joke"]
)
def test_off_topic_question_is_out_of_scope_or_falls_back(model, text):
    intent = model.parse(text)["intent"]
    assert intent["name"] in ("out_of_scope", "nlu_fallback"), intent


# --- the model cache ---------------------------------------------------------------------


def copy_nlu(tmp_path: Path) -> Path:
    path = tmp_path / "nlu.yml"
    path.write_bytes(NLU_PATH.read_bytes())
    return path


def test_second_load_uses_the_cache(cache_pipeline, training, tmp_path):
    cache = tmp_path / "models"
    first, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert trained is True
    files = list(cache.glob("nlu-*.pkl"))
    assert [f.name for f in files] == [
        f"nlu-{model_key(cache_pipeline, NLU_PATH.read_bytes())}.pkl"
    ]
    assert not list(cache.glob("*.tmp"))

    second, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert trained is False
    assert second is not first
    assert second.parse("tell me about AA") == first.parse("tell me about AA")


def test_changed_nlu_file_retrains(cache_pipeline, tmp_path):
    cache = tmp_path / "models"
    nlu = copy_nlu(tmp_path)
    load_or_train(cache_pipeline, nlu, TrainingData.load(nlu), cache)
    old_key = model_key(cache_pipeline, nlu.read_bytes())

    nlu.write_text(nlu.read_text().replace("      - hiya\n", "      - hiya\n      - howdy\n"))
    new_key = model_key(cache_pipeline, nlu.read_bytes())
    assert new_key != old_key
    model, trained = load_or_train(cache_pipeline, nlu, TrainingData.load(nlu), cache)
    assert trained is True
    assert (cache / f"nlu-{new_key}.pkl").exists()
    assert model.parse("howdy")["intent"]["name"] == "greet"


def test_changed_config_retrains(cache_pipeline, training, tmp_path):
    cache = tmp_path / "models"
    load_or_train(cache_pipeline, NLU_PATH, training, cache)
    changed = [
        {**item, "threshold": 0.5} if item["name"] == "FallbackClassifier" else item
        for item in cache_pipeline
    ]
    assert model_key(changed, NLU_PATH.read_bytes()) != model_key(
        cache_pipeline, NLU_PATH.read_bytes()
    )
    model, trained = load_or_train(changed, NLU_PATH, training, cache)
    assert trained is True
    assert len(list(cache.glob("nlu-*.pkl"))) == 2
    assert model.parse("asdfgh")["intent"] == {"name": "nlu_fallback", "confidence": 0.5}


def test_model_key_is_stable_and_ignores_dict_order(pipeline_config):
    data = NLU_PATH.read_bytes()
    reordered = [dict(reversed(list(item.items()))) for item in pipeline_config]
    assert model_key(pipeline_config, data) == model_key(reordered, data)
    assert model_key(pipeline_config, data) != model_key(pipeline_config, data + b"\n")


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pickle at all", pickle.dumps({"a": "dict, not a model"})],
    ids=["empty", "garbage", "wrong-type"],
)
def test_damaged_cache_is_retrained(cache_pipeline, training, tmp_path, content):
    cache = tmp_path / "models"
    cache.mkdir()
    cached = cache / f"nlu-{model_key(cache_pipeline, NLU_PATH.read_bytes())}.pkl"
    cached.write_bytes(content)

    model, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert trained is True
    assert model.parse("cheers")["intent"]["name"] == "thanks"
    # The damaged file was replaced by a good one.
    _, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert trained is False


def test_no_cache_dir_always_trains(cache_pipeline, training):
    _, trained = load_or_train(cache_pipeline, NLU_PATH, training, None)
    assert trained is True


def test_unwritable_cache_is_not_fatal(cache_pipeline, training, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the cache folder should be")
    model, trained = load_or_train(cache_pipeline, NLU_PATH, training, blocker)
    assert trained is True
    assert model.parse("cheers")["intent"]["name"] == "thanks"
    assert blocker.read_text() == "a file where the cache folder should be"


def test_unknown_component_fails_before_the_cache(cache_pipeline, training, tmp_path):
    cache = tmp_path / "models"
    load_or_train(cache_pipeline, NLU_PATH, training, cache)
    bad = [*cache_pipeline, {"name": "TEDPolicy"}]
    with pytest.raises(ConfigError, match="unknown component 'TEDPolicy'"):
        load_or_train(bad, NLU_PATH, training, cache)


class _Planted:
    """What someone with write access to the model folder might plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_model_file_never_runs_and_is_retrained(cache_pipeline, training, tmp_path):
    cache = tmp_path / "models"
    cache.mkdir()
    marker = tmp_path / "ran"
    planted = cache / f"nlu-{model_key(cache_pipeline, NLU_PATH.read_bytes())}.pkl"
    planted.write_bytes(pickle.dumps(_Planted(marker)))
    model, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert not marker.exists()
    assert trained is True
    assert model.parse("hello")["intent"]["name"]
    # The real model, written back, loads through the same guard.
    _, trained = load_or_train(cache_pipeline, NLU_PATH, training, cache)
    assert trained is False
