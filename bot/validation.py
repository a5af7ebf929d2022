"""`mutual-aid-bot validate`: load every content file and run Rasa's semantic checks.

Loading already checks each file's shape (with file and line). On top, as `rasa data
validate` does: every intent, action and response used is declared; every intent has
examples; rules do not contradict each other. And our own safety checks: consent-like slots
can only be filled by button entities, the crisis path exists, knowledge and sites load.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.crisis_model import load_examples
from bot.domain import BUILTIN_ACTIONS, BUILTIN_INTENTS, Domain, PayloadButton
from bot.engine.config import load_config
from bot.engine.policy import RulePolicy
from bot.engine.turn import CRISIS_ACTION, CRISIS_INTENT, START_INTENT
from bot.intent_titles import ANSWER_INTENTS, load_intent_titles
from bot.knowledge import Knowledge, load_sites
from bot.language import check_content, knowledge_texts
from bot.nlu.components import ConfigError
from bot.nlu.pipeline import build_components
from bot.poster import load_poster_words
from bot.referral import load_referral
from bot.settings import Settings
from bot.training_data import (
    ActionStep,
    IntentBlock,
    Rule,
    TrainingData,
    UserStep,
    load_rules,
    load_stories,
)
from bot.yamlfiles import ContentError

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_\-]+)(?P<entities>\{.*\})?$")
MIN_EXAMPLES = 15
# Intents the engine sets itself, never the NLU: /start links, and crisis (the safety net).
ENGINE_INTENTS = {START_INTENT, CRISIS_INTENT}
# Intents only ever sent by a button the bot offered ("Something else" in "did you mean").
BUTTON_ONLY_INTENTS = {"something_else"}


def _steps(rules: list[Rule]) -> list[UserStep | ActionStep]:
    found: list[UserStep | ActionStep] = []
    for rule in rules:
        found.extend(s for s in rule.steps if isinstance(s, UserStep | ActionStep))
    return found


def check_dialogues(
    domain: Domain, training: TrainingData, rules: list[Rule], action_names: set[str] | None
) -> list[str]:
    """Semantic problems in dialogues/ (an empty list means all is well)."""
    problems: list[str] = []
    declared = set(domain.intents)
    examples: dict[str, int] = {}
    for intent, _ in training.examples:
        examples[intent] = examples.get(intent, 0) + 1
    for intent in domain.intents:
        if intent not in examples and intent not in (
            BUILTIN_INTENTS | ENGINE_INTENTS | BUTTON_ONLY_INTENTS
        ):
            problems.append(f"intent '{intent}' has no NLU examples")
        elif intent == CRISIS_INTENT and intent in examples:
            problems.append(
                f"nlu.yml: intent '{CRISIS_INTENT}' is set by the safety net only; its examples "
                "belong in knowledge/crisis_examples/"
            )
        elif intent in examples and examples[intent] < MIN_EXAMPLES:
            problems.append(
                f"intent '{intent}' has {examples[intent]} examples; at least {MIN_EXAMPLES}"
            )
    for block in training.file.nlu:
        if isinstance(block, IntentBlock) and block.intent not in declared:
            problems.append(f"nlu.yml: intent '{block.intent}' is not declared in the domain")
    for intent, example in training.examples:
        for entity in example.entities:
            if entity.entity not in domain.entities:
                problems.append(
                    f"nlu.yml: entity '{entity.entity}' (intent '{intent}') is not declared"
                )
    for step in _steps(rules):
        if isinstance(step, UserStep):
            if step.intent not in declared and step.intent not in BUILTIN_INTENTS:
                problems.append(f"rules.yml: intent '{step.intent}' is not declared")
        elif not domain.is_action(step.action):
            problems.append(f"rules.yml: action '{step.action}' is not declared")
    problems.extend(f"rules.yml: {p}" for p in RulePolicy(rules).conflicts())
    for name, variations in domain.responses.items():
        for variation in variations:
            for button in variation.buttons:
                if isinstance(button, PayloadButton):
                    problems.extend(_check_payload(domain, name, button.payload))
    for form_name, form in domain.forms.items():
        for slot in form.required_slots:
            asks = [
                f"utter_ask_{form_name}_{slot}",
                f"utter_ask_{slot}",
                f"action_ask_{form_name}_{slot}",
                f"action_ask_{slot}",
            ]
            if not any(domain.is_action(a) for a in asks):
                problems.append(f"form '{form_name}': no question for slot '{slot}'")
    problems.extend(_check_consent(domain, training))
    if CRISIS_INTENT not in declared or CRISIS_ACTION not in domain.custom_actions:
        problems.append(f"the domain must declare intent '{CRISIS_INTENT}' and '{CRISIS_ACTION}'")
    for response in ("utter_default", "utter_error", "utter_forgotten", "utter_empty_message"):
        if response not in domain.responses:
            problems.append(f"the domain must have the response '{response}'")
    if action_names is not None:
        for action in domain.custom_actions:
            if action not in action_names:
                problems.append(f"action '{action}' is declared but not in the actions package")
        for action in sorted(action_names - set(domain.custom_actions)):
            problems.append(f"action '{action}' is in the actions package but not declared")
    return problems


def _check_payload(domain: Domain, response: str, payload: str) -> list[str]:
    match = _PAYLOAD.match(payload)
    if not match:
        return [f"response '{response}': button payload {payload!r} is not /intent or /intent{{}}"]
    problems = []
    if match.group("intent") not in domain.intents:
        problems.append(
            f"response '{response}': button payload intent '{match.group('intent')}' "
            "is not declared"
        )
    return problems


def _check_consent(domain: Domain, training: TrainingData) -> list[str]:
    """Consent slots may only be filled from entities that only buttons carry."""
    typed_entities = set(training.lookups) | set(training.regexes)
    for _, example in training.examples:
        typed_entities.update(e.entity for e in example.entities)
    problems = []
    for name, slot in domain.slots.items():
        if "consent" not in name:
            continue
        for mapping in slot.mappings:
            if mapping.type != "from_entity" or mapping.entity in typed_entities:
                problems.append(
                    f"slot '{name}' looks like consent, so only a button may fill it: use a "
                    "from_entity mapping on an entity that no NLU example, lookup or regex has"
                )
    return problems


_PHONE = re.compile(r"(?<![\w{])\d[\d ]{5,}\d(?![\w}])")
_WEB = re.compile(r"https?://|www\.|\.org\b|\.co\.uk\b|\.com\b")
PARITY_TOLERANCE = 0.25


def check_knowledge(domain: Domain, knowledge: Knowledge) -> list[str]:
    """Framing, reading age, parity of options, and facts only where they carry a source."""
    problems = [f"{f.where}: {f.problem}" for f in check_content(domain, knowledge)]
    groups = [o for o in knowledge.options if o.mutual_aid and not o.gambling_only]
    for field in ("summary", "first_meeting"):
        lengths = sorted(len(getattr(o, field)) for o in groups)
        median = lengths[len(lengths) // 2]
        for option in groups:
            size = len(getattr(option, field))
            if abs(size - median) > PARITY_TOLERANCE * median:
                problems.append(
                    f"knowledge/options/{option.id}.yml: {field} is {size} characters; "
                    f"parity needs {median} +-{PARITY_TOLERANCE:.0%}"
                )
    problems.extend(_check_official(knowledge))
    # A phone number or web address may only appear as a Fact (with source and date).
    for name, variations in domain.responses.items():
        for variation in variations:
            if _PHONE.search(variation.text) or _WEB.search(variation.text):
                problems.append(
                    f"response '{name}' types a number or address: use a {{placeholder}} "
                    "filled from knowledge/ instead"
                )
    for where, text in knowledge_texts(knowledge):
        if _PHONE.search(text) or _WEB.search(text):
            problems.append(f"{where}: a number or address belongs in a fact with its source")
    return problems


def _check_official(knowledge: Knowledge) -> list[str]:
    """Addresses on a card are the organisation's own: no encyclopaedias or directories."""
    problems = []
    for option in knowledge.options:
        facts = {"website": option.website, "meeting_finder": option.meeting_finder}
        if option.helpline:
            facts["helpline"] = option.helpline.number
        for field, fact in facts.items():
            if fact is None:
                continue
            where = f"knowledge/options/{option.id}.yml: {field}"
            rule = knowledge.official_sources.unofficial(fact.value)
            if rule:
                problems.append(f"{where} is on {rule.host} ({rule.reason}); use null and gaps")
            if re.search(r"not the (group|organisation)'s own", fact.source, re.IGNORECASE):
                problems.append(f"{where}: its source says it is not the group's own")
    return problems


def check_intent_titles(path: Path, domain: Domain) -> list[str]:
    """Every "did you mean" title names a declared intent that a person can ask for."""
    try:
        titles = load_intent_titles(path).titles
    except FileNotFoundError:
        return [f"{path}: missing (the titles of the 'did you mean' buttons)"]
    except (ContentError, ValueError) as exc:
        return [str(exc)]
    problems = [
        f"{path.name}: '{intent}' is not an intent in the domain"
        for intent in titles
        if intent not in domain.intents
    ]
    problems += [
        f"{path.name}: '{intent}' is an answer, never offered as a reading"
        for intent in titles
        if intent in ANSWER_INTENTS
    ]
    if "something_else" not in titles:
        problems.append(f"{path.name}: needs a title for something_else")
    return problems


def validate_all(settings: Settings, action_names: set[str] | None = None) -> list[str]:
    """Every problem found in config, dialogues, knowledge and sites."""
    problems: list[str] = []
    try:
        config = load_config(settings.config_path)
        build_components(config.pipeline_specs())
        domain = Domain.load(settings.dialogues_dir / "domain.yml")
        training = TrainingData.load(settings.dialogues_dir / "nlu.yml")
        rules = load_rules(settings.dialogues_dir / "rules.yml").rules
    except (ContentError, ValueError) as exc:
        return [str(exc)]
    except ConfigError as exc:
        return [f"{settings.config_path}: {exc}"]
    problems.extend(check_dialogues(domain, training, rules, action_names))
    problems.extend(check_intent_titles(settings.dialogues_dir / "intent_titles.yml", domain))
    stories = settings.content_dir / "tests" / "test_stories.yml"
    if stories.exists():
        try:
            for story in load_stories(stories).stories:
                for step in story.steps:
                    if (
                        isinstance(step, UserStep)
                        and step.intent not in domain.intents
                        and step.intent not in BUILTIN_INTENTS
                    ):
                        problems.append(f"{stories.name}: intent '{step.intent}' not declared")
                    if isinstance(step, ActionStep) and not domain.is_action(step.action):
                        problems.append(f"{stories.name}: action '{step.action}' not declared")
        except ContentError as exc:
            problems.append(str(exc))
    try:
        knowledge = Knowledge(settings.knowledge_dir)
        knowledge.load_all()
        line_ids = {line.id for line in knowledge.support_lines}
        labels = {category.id for category in knowledge.crisis.categories}
        for category in knowledge.crisis.categories:
            if category.response not in domain.responses:
                problems.append(f"crisis.yml: response '{category.response}' is not in the domain")
            if category.first_line not in line_ids:
                problems.append(
                    f"crisis.yml: first_line '{category.first_line}' is not a support line"
                )
        load_examples(settings.knowledge_dir / "crisis_examples", labels)
        problems.extend(check_knowledge(domain, knowledge))
    except ContentError as exc:
        problems.append(str(exc))
    try:
        load_poster_words(settings.knowledge_dir / "poster.yml")
        load_referral(settings.knowledge_dir)
    except ContentError as exc:
        problems.append(str(exc))
    try:
        load_sites(settings.sites_path)
    except ContentError as exc:
        problems.append(str(exc))
    return problems


def builtin_names() -> set[str]:
    """Actions every domain may use without declaring them."""
    return set(BUILTIN_ACTIONS)


__all__ = ["Path", "check_dialogues", "validate_all"]
