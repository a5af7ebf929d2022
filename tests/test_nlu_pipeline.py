"""The NLU pipeline trained from the real config.yml and dialogues/nlu.yml, and its cache."""

from __future__ import annotations

import pickle
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.engine.config import load_config
from bot.nlu.components import ConfigError
from bot.nlu.pipeline import NluPipeline, load_or_train, model_key
from bot.settings import PROJECT_DIR
from bot.training_data import Example, TrainingData

NLU_PATH = PROJECT_DIR / "dialogues" / "nlu.yml"


@pytest.fixture(scope="module")
def pipeline_config() -> list[dict[str, object]]:
    return load_config(PROJECT_DIR / "config.yml").pipeline_specs()


@pytest.fixture(scope="module")
def training() -> TrainingData:
    return TrainingData.load(NLU_PATH)


@pytest.fixture(scope="module")
def model(pipeline_config, training, tmp_path_factory) -> NluPipeline:
    trained, _ = load_or_train(
        pipeline_config, NLU_PATH, training, tmp_path_factory.mktemp("nlu-models")
    )
    return trained


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
        ("how does mutual aid work", "what_is_mutual_aid"),
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


@pytest.mark.xfail(
    strict=True,
    reason="nlu.yml annotates '[not sure](plan_format:not_sure)' but 'not sure' is not in "
    "the plan_format lookup, so RegexEntityExtractor cannot find it",
)
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
def test_nonsense_falls_back_or_is_unsure(model, text):
    intent = model.parse(text)["intent"]
    # Real requests score 0.8 and more; keyboard mashing must not look like one.
    assert intent["name"] == "nlu_fallback" or intent["confidence"] < 0.6, intent
    if intent["name"] == "nlu_fallback":
        assert intent["confidence"] == 0.3  # the FallbackClassifier threshold in config.yml


@pytest.mark.xfail(
    strict=True,
    reason="no out_of_scope intent in nlu.yml: ordinary off-topic English is classified "
    "with high confidence (e.g. 'what's the weather tomorrow' -> list_options 0.94)",
)
def test_off_topic_question_falls_back(model):
    intent = model.parse("what's the weather tomorrow")["intent"]
    assert intent["name"] == "nlu_fallback" or intent["confidence"] < 0.6, intent


# --- held-out evaluation -----------------------------------------------------------------


def split_every_fifth(
    training: TrainingData,
) -> tuple[list[tuple[str, Example]], list[tuple[str, Example]]]:
    """Hold out every 5th example of each intent (deterministic)."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for intent, example in training.examples:
        by_intent[intent].append(example)
    train: list[tuple[str, Example]] = []
    test: list[tuple[str, Example]] = []
    for intent, examples in by_intent.items():
        for index, example in enumerate(examples, start=1):
            (test if index % 5 == 0 else train).append((intent, example))
    return train, test


def test_split_is_per_intent_and_disjoint(training):
    train, test = split_every_fifth(training)
    assert len(train) + len(test) == len(training.examples)
    assert {t for t, _ in test} == set(training.intents())  # every intent is evaluated
    assert not {e.text for _, e in train} & {e.text for _, e in test}


@pytest.mark.xfail(
    strict=True,
    reason="held-out accuracy is about 0.62 (5-fold about 0.61): nlu.yml has ~15 short "
    "examples per intent; one-word forms (cya, laters, thx, ty, enough, reset) cannot be "
    "learnt from the others. Needs more and more varied examples per intent.",
)
def test_held_out_accuracy(pipeline_config, training):
    train, test = split_every_fifth(training)
    subset = TrainingData.load(NLU_PATH)
    subset.examples = train
    model = NluPipeline.train(pipeline_config, subset)

    totals: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    errors: list[str] = []
    for intent, example in test:
        predicted = model.parse(example.text)["intent"]
        totals[intent] += 1
        if predicted["name"] == intent:
            correct[intent] += 1
        else:
            errors.append(
                f"  {example.text!r}: {intent} -> {predicted['name']} "
                f"({predicted['confidence']:.2f})"
            )
    accuracy = sum(correct.values()) / len(test)
    report = "\n".join(
        [f"held-out accuracy {accuracy:.2f} on {len(test)} examples"]
        + [f"  {intent:20} {correct[intent]}/{totals[intent]}" for intent in sorted(totals)]
        + ["misclassified:", *errors]
    )
    print(report)
    assert accuracy >= 0.80, report


# --- the model cache ---------------------------------------------------------------------


def copy_nlu(tmp_path: Path) -> Path:
    path = tmp_path / "nlu.yml"
    path.write_bytes(NLU_PATH.read_bytes())
    return path


def test_second_load_uses_the_cache(pipeline_config, training, tmp_path):
    cache = tmp_path / "models"
    first, trained = load_or_train(pipeline_config, NLU_PATH, training, cache)
    assert trained is True
    files = list(cache.glob("nlu-*.pkl"))
    assert [f.name for f in files] == [
        f"nlu-{model_key(pipeline_config, NLU_PATH.read_bytes())}.pkl"
    ]
    assert not list(cache.glob("*.tmp"))

    second, trained = load_or_train(pipeline_config, NLU_PATH, training, cache)
    assert trained is False
    assert second is not first
    assert second.parse("tell me about AA") == first.parse("tell me about AA")


def test_changed_nlu_file_retrains(pipeline_config, tmp_path):
    cache = tmp_path / "models"
    nlu = copy_nlu(tmp_path)
    load_or_train(pipeline_config, nlu, TrainingData.load(nlu), cache)
    old_key = model_key(pipeline_config, nlu.read_bytes())

    nlu.write_text(nlu.read_text().replace("      - hiya\n", "      - hiya\n      - howdy\n"))
    new_key = model_key(pipeline_config, nlu.read_bytes())
    assert new_key != old_key
    model, trained = load_or_train(pipeline_config, nlu, TrainingData.load(nlu), cache)
    assert trained is True
    assert (cache / f"nlu-{new_key}.pkl").exists()
    assert model.parse("howdy")["intent"]["name"] == "greet"


def test_changed_config_retrains(pipeline_config, training, tmp_path):
    cache = tmp_path / "models"
    load_or_train(pipeline_config, NLU_PATH, training, cache)
    changed = [
        {**item, "threshold": 0.5} if item["name"] == "FallbackClassifier" else item
        for item in pipeline_config
    ]
    assert model_key(changed, NLU_PATH.read_bytes()) != model_key(
        pipeline_config, NLU_PATH.read_bytes()
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
def test_damaged_cache_is_retrained(pipeline_config, training, tmp_path, content):
    cache = tmp_path / "models"
    cache.mkdir()
    cached = cache / f"nlu-{model_key(pipeline_config, NLU_PATH.read_bytes())}.pkl"
    cached.write_bytes(content)

    model, trained = load_or_train(pipeline_config, NLU_PATH, training, cache)
    assert trained is True
    assert model.parse("cheers")["intent"]["name"] == "thanks"
    # The damaged file was replaced by a good one.
    _, trained = load_or_train(pipeline_config, NLU_PATH, training, cache)
    assert trained is False


def test_no_cache_dir_always_trains(pipeline_config, training):
    _, trained = load_or_train(pipeline_config, NLU_PATH, training, None)
    assert trained is True


def test_unwritable_cache_is_not_fatal(pipeline_config, training, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the cache folder should be")
    model, trained = load_or_train(pipeline_config, NLU_PATH, training, blocker)
    assert trained is True
    assert model.parse("cheers")["intent"]["name"] == "thanks"
    assert blocker.read_text() == "a file where the cache folder should be"


def test_unknown_component_fails_before_the_cache(pipeline_config, training, tmp_path):
    cache = tmp_path / "models"
    load_or_train(pipeline_config, NLU_PATH, training, cache)
    bad = [*pipeline_config, {"name": "TEDPolicy"}]
    with pytest.raises(ConfigError, match="unknown component 'TEDPolicy'"):
        load_or_train(bad, NLU_PATH, training, cache)
