"""Callback URLs: where they point and how they are signed (the jobs and callback functions)."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar

from pydantic import Field

from toolgate.settings.base import EnvironmentSettings


class CallbackSettings(EnvironmentSettings):
    """Where callback URLs point and how they are signed (`TOOLGATE_CALLBACK_*`, set by the CDK stack)."""

    env_prefix: ClassVar[str] = "TOOLGATE_CALLBACK_"

    #: The API's public base, without `/v1`: `https://{api}.execute-api.{region}.amazonaws.com/prod`.
    base_url: str = Field(min_length=1)
    #: The Secrets Manager secret holding the master signing key.
    signing_secret_arn: str = Field(min_length=1)


@lru_cache(maxsize=1)
def get_callback_settings() -> CallbackSettings:
    return CallbackSettings.from_environment()
