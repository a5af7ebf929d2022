"""Actions get their content and sites passed in (bot/action_config.py), never through
os.environ: two engines with different content in one process each see their own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from bot.action_config import ActionConfig, configured, current
from bot.settings import PROJECT_DIR, Settings


def _content_copy(tmp_path: Path, marker: str) -> Path:
    """The project's content with one option's summary changed."""
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(PROJECT_DIR / "config.yml", content / "config.yml")
    shutil.copytree(PROJECT_DIR / "dialogues", content / "dialogues")
    shutil.copytree(PROJECT_DIR / "knowledge", content / "knowledge")
    option = content / "knowledge" / "options" / "smart_recovery.yml"
    data = yaml.safe_load(option.read_text(encoding="utf-8"))
    data["summary"] = data["summary"].rstrip() + f" {marker}."
    option.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return content


def _sites(path: Path, site_id: str, name: str) -> Path:
    path.write_text(
        "sites:\n"
        f"  - id: {site_id}\n    kind: gp_practice\n    name: {name}\n"
        f"    referral_form_url: https://forms.example.org/{site_id}\n",
        encoding="utf-8",
    )
    return path


async def _texts(engine, chat: str, *messages: str) -> str:
    said = []
    for message in messages:
        said += [reply.text for reply in await engine.handle("test", chat, message)]
    return "\n".join(said)


async def _buttons(engine, chat: str, message: str) -> list[str]:
    return [b["title"] for r in await engine.handle("test", chat, message) for b in r.buttons]


async def test_two_engines_in_one_process_each_use_their_own_content_and_sites(
    tmp_path: Path, make_engine, models_dir: Path
):
    marker = "Written only in the second content folder"
    first = make_engine(
        settings=Settings(
            data_dir=tmp_path / "one",
            models_dir=models_dir,
            sites=_sites(tmp_path / "one.yml", "alpha", "Alpha Surgery"),
        )
    )
    second = make_engine(
        settings=Settings(
            data_dir=tmp_path / "two",
            models_dir=models_dir,
            content_dir=_content_copy(tmp_path, marker),
            sites=_sites(tmp_path / "two.yml", "beta", "Beta Surgery"),
        )
    )
    assert "MUTUAL_AID_SITES" not in os.environ
    for engine, own, other in ((first, "Alpha", "Beta"), (second, "Beta", "Alpha")):
        await engine.handle("test", "c1", "/start")
        titles = await _buttons(engine, "c1", "/request_referral")
        assert any(own in title for title in titles), titles
        assert not any(other in title for title in titles), titles
    smart = '/option_details{"option": "smart_recovery"}'
    assert marker not in await _texts(first, "c2", "/start", smart)
    assert marker in await _texts(second, "c2", "/start", smart)
    assert "MUTUAL_AID_SITES" not in os.environ


def test_without_a_caller_the_process_settings_apply(monkeypatch, tmp_path: Path):
    sites = _sites(tmp_path / "s.yml", "gamma", "Gamma")
    monkeypatch.setenv("MUTUAL_AID_SITES", str(sites))
    assert current().sites_path == sites
    other = ActionConfig(PROJECT_DIR, tmp_path / "other.yml")
    with configured(other):
        assert current() == other
    assert current().sites_path == sites
