"""dialogues/ and config.yml are valid against Rasa's own pykwalify schemas.

The schemas live in ../shared/rasa-schemas (copied from the rasa 3.6.21 wheel) and are applied
as rasa/shared/utils/validation.py applies them: YAML read with ruamel in safe mode, the
``responses.yml`` partial schema merged in, and the ``require_response_keys`` extension
function registered. The tests skip when ../shared is not beside the repository.
"""

from __future__ import annotations

import logging
import types
from pathlib import Path
from typing import Any

import pytest
from pykwalify.core import Core
from pykwalify.errors import SchemaError
from ruamel.yaml import YAML

from bot.settings import PROJECT_DIR
from tests.conftest import shared_or_skip

# pykwalify logs every schema error at ERROR level; Rasa silences it the same way.
logging.getLogger("pykwalify").setLevel(logging.CRITICAL)

# (schema in shared/rasa-schemas, content file in the project)
CONTENT = [
    ("model_config.yml", "config.yml"),
    ("domain.yml", "dialogues/domain.yml"),
    ("nlu.yml", "dialogues/nlu.yml"),
    ("stories.yml", "dialogues/rules.yml"),
]
TEST_STORIES = "tests/test_stories.yml"


def read_yaml(text: str) -> Any:
    """Read YAML as Rasa does: ruamel, safe mode, YAML 1.2."""
    reader = YAML(typ="safe", pure=True)
    reader.version = (1, 2)
    return reader.load(text)


def require_response_keys(responses: list[dict[str, Any]], _rule: Any, _path: str) -> bool:
    """Rasa's schema extension: every response variation has a 'text' or a 'custom' key."""
    for response in responses:
        if not isinstance(response, dict):
            continue  # other schema rules report this
        if response.get("text") is None and not response.get("custom"):
            raise SchemaError("Missing 'text' or 'custom' key in response.")
    return True


# pykwalify looks 'func:' names up on its loaded extension modules.
EXTENSIONS = types.SimpleNamespace(require_response_keys=require_response_keys)


def rasa_schema(name: str) -> dict[str, Any]:
    """A schema from shared/rasa-schemas with Rasa's responses schema merged in."""
    folder = shared_or_skip("rasa-schemas")
    schema = read_yaml((folder / name).read_text(encoding="utf-8"))
    responses = read_yaml((folder / "responses.yml").read_text(encoding="utf-8"))
    return dict(schema, **responses)


def validate(text: str, schema_name: str) -> None:
    """Validate YAML text against a Rasa schema; raise SchemaError if it does not fit."""
    core = Core(source_data=read_yaml(text), schema_data=rasa_schema(schema_name))
    core.loaded_extensions = [EXTENSIONS]
    core.validate(raise_exception=True)


@pytest.mark.parametrize(("schema", "relative"), CONTENT, ids=[c[1] for c in CONTENT])
def test_content_fits_rasa_schema(schema, relative):
    text = (PROJECT_DIR / relative).read_text(encoding="utf-8")
    validate(text, schema)


def test_test_stories_fit_rasa_schema():
    path = PROJECT_DIR / TEST_STORIES
    if not path.exists():
        pytest.skip(f"{TEST_STORIES} does not exist yet")
    validate(path.read_text(encoding="utf-8"), "stories.yml")


# --- the schemas are really applied (so a pass above means something) -----------------------


def test_response_without_text_is_rejected_by_the_extension():
    text = (PROJECT_DIR / "dialogues" / "domain.yml").read_text(encoding="utf-8")
    broken = text.replace(
        "  utter_plan_next:\n    - text: Would you like to see the other groups too?\n",
        "  utter_plan_next:\n    - image: https://example.org/groups.png\n",
    )
    assert broken != text
    with pytest.raises(SchemaError, match="Missing 'text' or 'custom' key in response"):
        validate(broken, "domain.yml")


def test_slot_without_mappings_is_rejected():
    text = 'version: "3.1"\nslots:\n  colour:\n    type: text\n'
    with pytest.raises(SchemaError, match="mappings"):
        validate(text, "domain.yml")


def test_rule_step_of_unknown_kind_is_rejected():
    text = 'version: "3.1"\nrules:\n  - rule: r\n    steps:\n      - intnet: greet\n'
    with pytest.raises(SchemaError):
        validate(text, "stories.yml")


def test_nlu_examples_must_be_a_string():
    text = 'version: "3.1"\nnlu:\n  - intent: greet\n    examples:\n      - hi\n'
    with pytest.raises(SchemaError):
        validate(text, "nlu.yml")


def test_schemas_are_not_copied_into_the_project():
    shared = shared_or_skip("rasa-schemas")
    names = {path.name for path in Path(shared).glob("*.yml")}
    copies = [
        path
        for path in PROJECT_DIR.rglob("*.yml")
        if path.name in names
        and ".venv" not in path.parts
        and path.read_bytes() == (shared / path.name).read_bytes()
    ]
    assert copies == []
