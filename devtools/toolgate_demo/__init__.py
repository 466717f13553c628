"""The Support Desk demo: the seed's example API, compiled into tools."""

from importlib.resources import files
from pathlib import Path


def support_desk_spec() -> Path:
    """Path of the bundled Support Desk OpenAPI document."""
    return Path(str(files(__package__).joinpath("support_desk.yaml")))
