"""Toolgate: OpenAPI operations as safe, typed tools for LLMs."""

__version__ = "0.1.0"
