"""Long-running operations: the jobs state machine, the poll schedule and the lifetimes of jobs."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic then
# skips parsing each one from a string, a third of a model's cold-start cost (issue 16).

from functools import lru_cache
from typing import ClassVar, Self

from pydantic import Field, model_validator

from toolgate.settings.base import MIB, EnvironmentSettings


class JobSettings(EnvironmentSettings):
    """Long-running operations (`TOOLGATE_JOBS_*`): the state machine, the poll schedule and lifetimes."""

    env_prefix: ClassVar[str] = "TOOLGATE_JOBS_"

    #: The jobs state machine; without it, async tools are refused with JOBS_UNAVAILABLE.
    state_machine_arn: str | None = None
    #: First wait before polling a status endpoint; each next wait is `poll_backoff` times longer, up to
    #: `max_poll_interval_seconds`. A `Retry-After` from the target is honoured within those bounds.
    first_poll_seconds: int = Field(default=5, ge=0, le=3600)
    poll_backoff: float = Field(default=2.0, ge=1.0, le=10.0)
    max_poll_interval_seconds: int = Field(default=60, ge=0, le=3600)
    #: A polled job still running after this long fails with JOB_TIMED_OUT.
    max_job_seconds: int = Field(default=3600, ge=1, le=86_400)
    #: Status polls in a row that may fail transiently (timeouts, 429, 5xx) before the job fails.
    max_status_failures: int = Field(default=5, ge=1, le=50)
    #: Lifetime of a callback URL, and so how long a callback job waits: the one source of the waiting
    #: task's heartbeat and timeout, which the state machine reads from the execution's input.
    callback_ttl_seconds: int = Field(default=86_400, ge=60, le=86_400)
    #: Largest callback body accepted.
    max_callback_bytes: int = Field(default=1 * MIB, ge=1024, le=6 * MIB)
    #: A finished job and its result stay readable this long. At most a day: S3's lifecycle rule deletes a
    #: kept result a day after it was written (`RESULT_RETENTION_DAYS` in infra/tenancy.py).
    retention_seconds: int = Field(default=86_400, ge=60, le=86_400)
    #: Characters of result kept on the job item; a longer one is kept in S3 and paged.
    inline_result_chars: int = Field(default=16_000, ge=1000, le=100_000)

    @model_validator(mode="after")
    def _backoff_starts_within_its_cap(self) -> Self:
        if self.first_poll_seconds > self.max_poll_interval_seconds:
            raise ValueError("first_poll_seconds must not exceed max_poll_interval_seconds")
        return self


@lru_cache(maxsize=1)
def get_job_settings() -> JobSettings:
    return JobSettings()
