"""What every settings model shares: values from defaults and `TOOLGATE_*` environment variables.

Environment variables are read as pydantic-settings read them, without its import cost on every cold start
(issue 16): names are case-insensitive, list, set and model fields take JSON, and `ToolgateSettings` takes
a sub-model's fields as `TOOLGATE_RUNTIME__ALLOW_HTTP`.
"""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

import json
import os
import types
import typing
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

MIB = 1024 * 1024

_JSON_ORIGINS = (list, set, frozenset, dict, tuple)


def _json_kind(annotation: Any) -> str | None:
    """ "json" if a variable for this field must hold JSON (a list, set, dict or model), "maybe" for a union
    with such a member (a value that is not JSON is then validated as given), None for a plain value."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [_json_kind(member) for member in typing.get_args(annotation)]
        return "maybe" if any(members) else None
    if origin is Annotated:
        return _json_kind(typing.get_args(annotation)[0])
    if origin in _JSON_ORIGINS or annotation in _JSON_ORIGINS:
        return "json"
    return "json" if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _decoded(variable: str, annotation: Any, value: str) -> Any:
    kind = _json_kind(annotation)
    if kind is None:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if kind == "maybe":
            return value
        raise ValueError(f"environment variable {variable.upper()} must hold JSON for this setting") from None


class EnvironmentSettings(BaseModel):
    """A settings model whose constructor fills unset fields from `{env_prefix}{FIELD}` variables.

    Keyword arguments win over the environment. pydantic runs this `__init__` for `model_validate` too;
    only `model_construct` (no validation) skips the environment.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True, defer_build=True)
    env_prefix: ClassVar[str] = "TOOLGATE_"
    #: Set: a model-typed field also takes its fields one by one, as `{PREFIX}{FIELD}{delimiter}{SUBFIELD}`.
    env_nested_delimiter: ClassVar[str | None] = None

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**self.environment_values(), **values})

    @classmethod
    def from_environment(cls) -> Self:
        """The settings from the environment alone (what `cls()` builds, for models with required fields)."""
        return cls.model_validate({})

    @classmethod
    def environment_values(cls) -> dict[str, Any]:
        environment = {name.lower(): value for name, value in os.environ.items()}
        found: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            variable = f"{cls.env_prefix}{name}".lower()
            if variable in environment:
                found[name] = _decoded(variable, field.annotation, environment[variable])
            submodel = field.annotation
            if cls.env_nested_delimiter and isinstance(submodel, type) and issubclass(submodel, BaseModel):
                nested = f"{variable}{cls.env_nested_delimiter}".lower()
                subfields = {
                    sub: _decoded(nested + sub, subfield.annotation, environment[nested + sub])
                    for sub, subfield in submodel.model_fields.items()
                    if nested + sub in environment
                }
                if subfields:
                    whole = found.get(name)
                    found[name] = {**whole, **subfields} if isinstance(whole, dict) else subfields
        return found
