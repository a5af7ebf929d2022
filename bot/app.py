"""Assembling the bot: content, store, keys, links, staff, NLU, safety net and action client.

Everything the engine needs is built here and handed to it (bot/engine/core.py), with the
features that plug in as interceptors (staff commands). Channels and the CLI call
``build_engine``; tests may pass their own action client or store.
"""

from __future__ import annotations

from bot.action_config import ActionConfig
from bot.domain import Domain
from bot.engine.actions import ActionClient, HttpActions, InProcessActions
from bot.engine.config import load_config
from bot.engine.core import Engine, EngineParts
from bot.engine.policy import RulePolicy
from bot.knowledge import Knowledge, load_sites
from bot.links import LinkService
from bot.nlu.pipeline import load_or_train
from bot.pseudonym import Pseudonymiser, load_or_create_secret
from bot.safety import SafetyNet
from bot.settings import Settings
from bot.staff import StaffService
from bot.staff_commands import StaffCommands
from bot.store import TrackerStore
from bot.training_data import TrainingData, load_rules


def action_client_for(settings: Settings) -> ActionClient:
    """A separate action server if one is configured, else the actions in this process,
    reading this bot's content and sites (passed in, not through os.environ)."""
    if settings.action_endpoint:
        return HttpActions(str(settings.action_endpoint))
    return InProcessActions(config=ActionConfig.from_settings(settings))


def build_engine(
    settings: Settings,
    *,
    action_client: ActionClient | None = None,
    store: TrackerStore | None = None,
) -> Engine:
    """The whole bot for these settings, ready to answer."""
    config = load_config(settings.config_path)
    domain = Domain.load(settings.dialogues_dir / "domain.yml")
    nlu_path = settings.dialogues_dir / "nlu.yml"
    training = TrainingData.load(nlu_path)
    rules = load_rules(settings.dialogues_dir / "rules.yml")
    knowledge = Knowledge(settings.knowledge_dir)
    knowledge.load_all()
    safety = SafetyNet.from_settings(settings, knowledge, training)
    nlu, trained_now = load_or_train(
        config.pipeline_specs(), nlu_path, training, settings.model_cache_dir
    )
    # A process that answers chats is the only one on its database (bot/store/process_lock.py).
    store = store or TrackerStore(settings.db_path, exclusive=True)
    key = load_or_create_secret(settings.secret_path)
    sites = load_sites(settings.sites_path)
    links = LinkService.from_settings(settings, store, sites)
    staff = StaffService(store, key, sites)
    parts = EngineParts(
        settings=settings,
        config=config,
        domain=domain,
        training=training,
        policy=RulePolicy(rules.rules),
        knowledge=knowledge,
        safety=safety,
        nlu=nlu,
        trained_now=trained_now,
        store=store,
        pseudonyms=Pseudonymiser(key),
        sites=sites,
        links=links,
        actions=action_client or action_client_for(settings),
    )
    return Engine(parts, interceptors=[StaffCommands(staff, links)])
