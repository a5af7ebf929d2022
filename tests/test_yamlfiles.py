"""bot/yamlfiles.py: every content error names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, model_validator

from bot.yamlfiles import (
    ContentError,
    FieldError,
    LineDict,
    LineList,
    line_of,
    load_model,
    parse_yaml,
    read_yaml,
)


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    age: int


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    members: list[Member] = []
    tags: dict[str, int] = {}


class Club(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: list[Group]

    @model_validator(mode="after")
    def _unique_titles(self) -> Club:
        seen: set[str] = set()
        for index, group in enumerate(self.groups):
            if group.title in seen:
                raise FieldError(("groups", index, "title"), f"title '{group.title}' twice")
            seen.add(group.title)
        return self


CLUB = """\
groups:
  - title: first
    members:
      - name: Ann
        age: 30
      - name: Bob
        age: 41
  - title: second
    members:
      - name: Cy
        age: not a number
    tags:
      a: 1
      b: lots
"""


def write(tmp_path: Path, text: str, name: str = "data.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, model: type[BaseModel] = Club) -> ContentError:
    with pytest.raises(ContentError) as caught:
        load_model(path, model)
    return caught.value


# --- bad YAML ---------------------------------------------------------------------------


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "groups:\n  - title: a\n    members: [one, two\n  - title: b\n")
    error = error_of(path)
    assert error.path == str(path)
    assert error.line == 4
    assert "not valid YAML" in error.message
    assert str(error).startswith(f"{path}:4: not valid YAML")


def test_duplicate_key_is_an_error_with_its_line(tmp_path):
    path = write(tmp_path, "groups:\n  - title: a\n    title: b\n")
    error = error_of(path)
    assert error.line == 3
    assert "'title' appears twice" in error.message


def test_duplicate_top_level_key(tmp_path):
    path = write(tmp_path, "groups: []\nother: 1\ngroups: []\n")
    error = error_of(path)
    assert (error.line, error.path) == (3, str(path))
    assert "'groups' appears twice" in error.message


def test_tab_indentation_is_reported_on_its_line(tmp_path):
    path = write(tmp_path, "groups:\n  - title: a\n\tmembers: []\n")
    error = error_of(path)
    assert error.line == 3
    assert "not valid YAML" in error.message


def test_unhashable_key_is_a_content_error(tmp_path):
    path = write(tmp_path, "groups: []\n? [a, b]\n: 1\n")
    error = error_of(path)
    assert error.line == 2
    assert "not a plain value" in error.message


def test_parse_yaml_uses_the_given_name():
    with pytest.raises(ContentError, match=r"^inline\.yml:1: not valid YAML"):
        parse_yaml("key: [unclosed", "inline.yml")


def test_parse_yaml_never_builds_python_objects():
    with pytest.raises(ContentError, match="not valid YAML"):
        parse_yaml("x: !!python/object/apply:os.system ['true']\n", "evil.yml")


# --- line numbers kept by the loader ----------------------------------------------------


def test_loaded_yaml_keeps_lines_of_keys_and_items():
    data = parse_yaml(CLUB)
    assert isinstance(data, LineDict)
    assert data.key_lines["groups"] == 1
    groups = data["groups"]
    assert isinstance(groups, LineList)
    assert groups.item_lines == [2, 8]
    assert groups[1]["members"][0].key_lines == {"name": 10, "age": 11}


def test_line_of_walks_into_nested_lists_and_dicts():
    data = parse_yaml(CLUB)
    assert line_of(data, ("groups", 1, "members", 0, "age")) == 11
    assert line_of(data, ("groups", 1, "tags", "b")) == 14
    assert line_of(data, ("groups", 0, "members", 1)) == 6
    # a key that is not there (a missing field) points at its parent
    assert line_of(data, ("groups", 0, "missing")) == 2
    assert line_of(data, ()) == 1


# --- pydantic errors mapped to lines ----------------------------------------------------


def test_validation_error_in_nested_list_names_line_and_field(tmp_path):
    error = error_of(write(tmp_path, CLUB))
    assert error.line == 11
    assert error.message.startswith("groups.1.members.0.age: ")
    assert "integer" in error.message
    assert str(error).startswith(f"{tmp_path / 'data.yml'}:11: groups.1.members.0.age:")


def test_validation_error_in_nested_dict_names_line_and_field(tmp_path):
    text = CLUB.replace("age: not a number", "age: 5")
    error = error_of(write(tmp_path, text))
    assert error.line == 14
    assert error.message.startswith("groups.1.tags.b: ")


def test_misspelt_key_is_reported_rather_than_the_missing_one(tmp_path):
    text = "groups:\n  - title: a\n    members:\n      - name: Ann\n        agee: 3\n"
    error = error_of(write(tmp_path, text))
    # 'age' is missing too, but the misspelt key is what to fix
    assert error.line == 5
    assert error.message == "groups.0.members.0.agee: Extra inputs are not permitted"


def test_extra_key_alone_is_reported_at_that_key(tmp_path):
    text = "groups:\n  - title: a\n    colour: red\n"
    error = error_of(write(tmp_path, text))
    assert error.line == 3
    assert error.message.startswith("groups.0.colour: Extra inputs are not permitted")


def test_missing_field_points_at_its_parent(tmp_path):
    text = "groups:\n  - title: a\n  - members: []\n"
    error = error_of(write(tmp_path, text))
    assert error.line == 3
    assert error.message == "groups.1.title: Field required"


def test_field_error_from_a_model_validator_points_at_the_field(tmp_path):
    text = "groups:\n  - title: a\n  - title: b\n  - title: a\n"
    error = error_of(write(tmp_path, text))
    assert error.line == 4
    assert error.message.startswith("groups.2.title: ")
    assert "title 'a' twice" in error.message


def test_empty_file_is_an_empty_mapping(tmp_path):
    error = error_of(write(tmp_path, "# nothing here\n"))
    assert error.message == "groups: Field required"


def test_top_level_of_the_wrong_type(tmp_path):
    error = error_of(write(tmp_path, "- just\n- a list\n"))
    assert error.line == 1
    assert error.message.startswith("(top level): ")


# --- unreadable files -------------------------------------------------------------------


def test_missing_file_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere.yml"
    with pytest.raises(ContentError) as caught:
        read_yaml(path)
    assert caught.value.path == str(path)
    assert caught.value.line is None
    assert str(caught.value) == f"{path}: file not found"


def test_non_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ContentError) as caught:
        load_model(path, Club)
    assert caught.value.path == str(path)
    assert "cannot read the file" in caught.value.message
    assert "utf-8" in caught.value.message.lower()


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(ContentError, match="cannot read the file"):
        read_yaml(tmp_path)


def test_the_fast_parse_gives_the_same_model_as_the_line_keeping_one(tmp_path):
    from bot.yamlfiles import fast_validate, read_yaml, validate_data

    text = "groups:\n  - title: a\n    members: [{name: jo, age: 3}]\n  - title: b\n"
    path = write(tmp_path, text)
    fast = fast_validate(path, Club)
    assert fast is not None
    assert fast == validate_data(read_yaml(path), Club, path)


@pytest.mark.parametrize(
    "text",
    ["groups:\n  - title: a\n    title: b\n", "groups: [\n", "groups:\n  - nope: 1\n"],
)
def test_the_fast_parse_declines_anything_wrong(tmp_path, text):
    from bot.yamlfiles import fast_validate

    # The line-keeping loader then reports it with its line.
    assert fast_validate(write(tmp_path, text), Club) is None
