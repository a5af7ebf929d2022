"""The import rules of ARCHITECTURE.md, checked on the source (every import, including the
ones inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.settings import PROJECT_DIR

CONTENT = {
    "bot.yamlfiles",
    "bot.knowledge",
    "bot.domain",
    "bot.training_data",
    "bot.referral",
    "bot.intent_titles",
    "bot.settings",
    "bot.action_config",
}
FEATURES = {"bot.links", "bot.staff", "bot.staff_commands", "bot.poster"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PROJECT_DIR / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module a file imports, resolved to dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _under(name: str, prefixes: set[str] | tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if _under(n, ("bot", "actions"))}


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    problems = []
    for path in _sources(folder):
        bad = {n for n in _ours(_imports(path)) if _under(n, forbidden)}
        problems += [f"{path.relative_to(PROJECT_DIR)} imports {n}" for n in sorted(bad)]
    return problems


def test_the_engine_imports_no_channel_command_feature_or_assembly():
    forbidden = ("bot.channels", "bot.cli", "bot.app", "actions", *sorted(FEATURES))
    assert not _violations("bot/engine", forbidden)


def test_actions_import_only_content_models_and_settings():
    problems = []
    for path in _sources("actions"):
        for name in _ours(_imports(path)):
            if _under(name, ("actions",)) or name == "bot" or _under(name, CONTENT):
                continue
            problems.append(f"{path.relative_to(PROJECT_DIR)} imports {name}")
    assert not problems, problems


def test_content_models_import_no_higher_floor():
    problems = []
    for module in sorted(CONTENT):
        path = PROJECT_DIR / (module.replace(".", "/") + ".py")
        for name in _ours(_imports(path)):
            if not _under(name, CONTENT):
                problems.append(f"{module} imports {name}")
    assert not problems, problems


def test_channels_never_import_the_cli():
    assert not _violations("bot/channels", ("bot.cli",))


def test_only_commands_and_tests_assemble_the_bot():
    users = [
        _module_name(path)
        for path in _sources("bot", "actions")
        if "bot.app" in _ours(_imports(path)) or "bot.app.build_engine" in _imports(path)
    ]
    assert users
    assert all(user.startswith("bot.cli") for user in users), users


@pytest.mark.parametrize("path", _sources("bot", "actions"), ids=lambda p: p.name)
def test_settings_are_passed_never_smuggled(path: Path):
    text = path.read_text(encoding="utf-8")
    assert "os.environ[" not in text or path.name == "settings.py"
    assert "os.putenv" not in text
    assert ".setenv(" not in text
    if _module_name(path) != "bot.settings":
        assert 'environ.get("MUTUAL_AID_' not in text
        assert 'getenv("MUTUAL_AID_' not in text


def test_the_rules_are_written_down():
    text = (PROJECT_DIR / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for words in (
        "bot/engine/",
        "actions/",
        "interceptor",
        "A channel",
        "tests/test_architecture",
    ):
        assert words in text


@pytest.mark.parametrize("path", _sources("bot", "actions"), ids=lambda p: p.name)
def test_only_the_store_touches_the_database(path: Path):
    if _module_name(path).startswith("bot.store"):
        return
    text = path.read_text(encoding="utf-8")
    for reach in ("store.db", "store.lock", "store._conn", ".conn.commit", "sqlite_utils"):
        assert reach not in text, f"{path.name} reaches into the store: {reach}"


@pytest.mark.parametrize("path", _sources("bot", "actions"), ids=lambda p: p.name)
def test_no_module_but_the_content_models_is_over_400_lines(path: Path):
    if _module_name(path) == "bot.knowledge":  # pydantic models of every content file
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.relative_to(PROJECT_DIR)} has {lines} lines: split it by job"
