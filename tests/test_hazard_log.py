"""docs/hazard-log.md names the test that verifies each control: every one must exist."""

from __future__ import annotations

import ast
import re

import pytest

from bot.settings import PROJECT_DIR

LOG = PROJECT_DIR / "docs" / "hazard-log.md"
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _named_tests() -> list[tuple[str, str]]:
    return NAMED.findall(LOG.read_text(encoding="utf-8"))


def _tests_in(path: str) -> set[str]:
    tree = ast.parse((PROJECT_DIR / path).read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_the_log_covers_every_hazard_with_tests():
    text = LOG.read_text(encoding="utf-8")
    for hazard in (
        "crisis message is missed",
        "False reassurance",
        "stale or wrong phone number",
        "Wrong meeting information",
        "Coercive or stigmatising wording",
        "wrong site",
        "forged or reused link",
        "Lost or mixed-up conversation state",
        "outage",
        "under 16",
    ):
        assert hazard.lower() in text.lower(), hazard
    assert len(_named_tests()) >= 30


@pytest.mark.parametrize(("path", "name"), _named_tests(), ids=lambda x: str(x))
def test_every_named_test_exists(path: str, name: str):
    assert (PROJECT_DIR / path).is_file(), f"{path} is not a test file"
    assert name in _tests_in(path), f"{path} has no {name}"


def test_the_readme_links_the_privacy_and_safety_documents():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert "docs/privacy.md" in readme
    assert "docs/hazard-log.md" in readme
