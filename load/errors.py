"""Errors of the load gate; the CLI maps them to exit codes."""

from __future__ import annotations


class LoadError(Exception):
    """Root of the load gate's expected failures."""


class LoadInputError(LoadError):
    """Bad input: an option, an SLO file, a run directory or a file in it is missing or malformed."""
