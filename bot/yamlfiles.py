"""Load YAML files into pydantic models with the file and line of every error.

Every content file (dialogues/, knowledge/, config.yml, sites) goes through here, so a typo
anywhere is reported as ``path:line: field: message`` instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class Strict(BaseModel):
    """Base for every model of a content or config file: unknown keys are errors, not
    silently ignored, and loaded content cannot be changed by accident."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ModelT = TypeVar("ModelT", bound=BaseModel)


class ContentError(Exception):
    """A content file is missing, not valid YAML, or does not fit its model."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class FieldError(ValueError):
    """Raised in a model validator to name the field at fault, so its line can be found.

    ``loc`` is relative to the model that raises it (for example ``("sites", 2, "id")``).
    """

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


def require_unique(values: list[str], field: str, attribute: str, what: str) -> set[str]:
    """The values as a set; FieldError at the second of any value that appears twice."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise FieldError((field, index, attribute), f"{what} '{value}' appears twice")
        seen.add(value)
    return seen


class LineDict(dict):
    """A dict that remembers the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    """A list that remembers the line of each of its items (1-based)."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences keep their source lines."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, "a key here is not a plain value", key_node.start_mark
            ) from exc
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path: Path | str = "<text>") -> Any:
    """Parse YAML text, keeping line numbers; raise ContentError on bad YAML."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "not valid YAML"
        raise ContentError(path, line, f"not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(path, None, f"not valid YAML: {exc}") from exc


def read_yaml(path: Path) -> Any:
    """Read and parse one YAML file, with a clear error when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ContentError(path, None, "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(path, None, f"cannot read the file: {exc}") from exc
    return parse_yaml(text, path)


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """Find the deepest known line for a pydantic error location inside loaded YAML."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineDict) and isinstance(part, str):
            continue  # a union member's tag (or a missing key): not a level of the YAML
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if inner and isinstance(node, LineDict | LineList) and part != loc[-1]:
            line = line or inner
    return line


def validate_data(data: Any, model: type[ModelT], path: Path | str) -> ModelT:
    """Validate loaded YAML against a model; the first error names its file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key shows as "x: Field required" and "xx: Extra inputs": the extra key
        # is the one to fix, so report it first.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(first["loc"])
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            loc += cause.loc
        field = ".".join(str(part) for part in loc) or "(top level)"
        raise ContentError(path, line_of(data, loc), f"{field}: {first['msg']}") from exc


_FAST_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_FAST_BASE):  # type: ignore[misc, valid-type]
    """libyaml's safe loader (when there is one), refusing duplicate keys as the other does."""


def _construct_plain_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, "a key here is not a plain value", key_node.start_mark
            ) from exc
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_FastLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_plain_mapping
)


def fast_validate(path: Path, model: type[ModelT]) -> ModelT | None:
    """The file validated from libyaml's parse, or None if anything is wrong with it.

    Every process reads the content files at start-up; the pure-Python loader that keeps line
    numbers takes several times longer, so it runs only when there is a fault to report.
    """
    try:
        data = yaml.load(path.read_bytes(), Loader=_FastLoader)  # noqa: S506 - a safe loader
        return model.model_validate({} if data is None else data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError, ValueError):
        return None


def load_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read a YAML file and validate it against a pydantic model (file and line on error)."""
    fast = fast_validate(path, model)
    if fast is not None:
        return fast
    data = read_yaml(path)
    if data is None:
        data = {}
    return validate_data(data, model, path)
