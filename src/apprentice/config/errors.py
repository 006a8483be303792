"""Turn a pydantic ValidationError into one line that names the key, the value and the fix."""

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


def describe_validation_error(error: ValidationError, model: type[BaseModel], source: str) -> str:
    """One line for the first problem (`unknown key 'sft.lerning_rate' in x.yaml (did you mean ...)`)."""
    # An unknown key is the likeliest root cause of the other problems (a misspelt required key), so it goes first.
    problems = sorted(error.errors(), key=lambda problem: problem["type"] != "extra_forbidden")
    first = problems[0]
    location = list(first["loc"])
    key = ".".join(str(part) for part in location)
    more = f" (+{len(problems) - 1} more problem{'s' * (len(problems) > 2)})" if len(problems) > 1 else ""
    if first["type"] == "extra_forbidden":
        return f"unknown key '{key}' in {source}{nearest_key_hint(model, location)}{more}"
    value = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and first["type"] != "missing" else ""
    where = f"'{key}' in {source}" if key else source
    return f"{where}: {message}{shown}{more}"


def nearest_key_hint(model: type[BaseModel], location: list[Any]) -> str:
    """`; did you mean 'learning_rate'?` for the section holding the unknown key, or a list of valid keys."""
    section = section_model(model, location[:-1])
    if section is None:
        return ""
    valid = list(section.model_fields)
    close = difflib.get_close_matches(str(location[-1]), valid, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid keys here: {', '.join(valid)}"


def section_model(model: type[BaseModel], path: list[Any]) -> type[BaseModel] | None:
    """The pydantic model class found by following `path` (field names, list indices) from `model`."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = _model_inside(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_inside(annotation: Any) -> Any:
    """`list[X]`, `X | None`, `dict[str, X]` -> X; anything else as is."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, dict, typing.Union, types.UnionType):
        for argument in reversed(typing.get_args(annotation)):
            if isinstance(argument, type) and issubclass(argument, BaseModel):
                return argument
    return annotation
