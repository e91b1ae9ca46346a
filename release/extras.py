"""Optional parts of the install: which extra a command needs, and a refusal (exit 2) that names its pip line.

The core install (``pip install crvs-release``) versions, prepares, runs command and pytest gates, records
decisions, promotes, reports as Markdown or HTML and serves the change board. Heavy parts are extras, declared in
pyproject.toml's ``[project.optional-dependencies]``, in the way python-semantic-release keeps its build and
publish tools out of its core install. A command that needs a missing extra refuses before it records or changes
anything, with the exact line to run, instead of failing half-way with an ImportError.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from release.errors import UsageError

DISTRIBUTION = "crvs-release"

#: extra -> the top-level modules it provides (what is checked) and what it is for (what the refusal says).
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "load": (("locust", "gevent", "scipy", "numpy"), "the load tool (`release load`, locust gates)"),
    "browser": (("playwright",), "a browser gate"),
    "charts": (("matplotlib",), "drawing the change record's latency charts"),
    "pdf": (("weasyprint", "matplotlib"), "the PDF change record"),
    "sandbox": (("rapidfuzz",), "the reference CRVS sandbox"),
    "postgres": (("psycopg",), "a PostgreSQL database"),
}

#: gate kind -> the extra its tool needs; command and pytest gates run on the core install.
GATE_EXTRAS: dict[str, str] = {"locust": "load", "browser": "browser"}


class MissingExtra(UsageError):
    """A command needs an optional part of the install that is not there (exit 2, nothing recorded)."""

    def __init__(self, extra: str, missing: Sequence[str], purpose: str) -> None:
        self.extra, self.missing = extra, tuple(missing)
        super().__init__(f"{purpose} needs the [{extra}] extra ({', '.join(missing)} not installed): "
                         f"run {install_line(extra)} (from a checkout: pip install -e '.[{extra}]')")


def install_line(extra: str) -> str:
    """The pip command that installs one extra, e.g. ``pip install 'crvs-release[load]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_modules(modules: Iterable[str]) -> list[str]:
    """The modules of `modules` that cannot be imported here (found without importing them)."""
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or half-removed package is as good as missing
            found = False
        if not found:
            missing.append(name)
    return missing


def require_extra(extra: str, modules: Sequence[str] | None = None, *, purpose: str | None = None) -> None:
    """MissingExtra (exit 2) naming ``pip install 'crvs-release[extra]'`` when a module of the extra is missing.

    `modules` defaults to every module the extra provides; `purpose` defaults to what the extra is for.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}")
    provided, what = EXTRAS[extra]
    missing = missing_modules(modules if modules is not None else provided)
    if missing:
        raise MissingExtra(extra, missing, purpose or what)


def has_extra(extra: str) -> bool:
    """True when every module of the extra can be imported."""
    return not missing_modules(EXTRAS[extra][0])


def require_gate_extra(kind: str, gate: str | None = None) -> None:
    """MissingExtra when a gate of this kind runs a tool from an extra that is missing (a no-op otherwise)."""
    extra = GATE_EXTRAS.get(kind)
    if extra is not None:
        label = f"gate {gate} ({kind})" if gate else f"a {kind} gate"
        require_extra(extra, purpose=label)


def guard_command(command: click.Command, *extras: str) -> click.Command:
    """A copy of a click command or group whose callback first requires `extras`; `--help` still works without."""
    guarded = copy.copy(command)
    inner: Callable[..., Any] | None = command.callback

    @functools.wraps(inner or (lambda: None))
    def callback(*args: Any, **kwargs: Any) -> Any:
        for extra in extras:
            require_extra(extra)
        return inner(*args, **kwargs) if inner is not None else None

    guarded.callback = callback
    return guarded


__all__ = ["EXTRAS", "GATE_EXTRAS", "MissingExtra", "guard_command", "has_extra", "install_line",
           "missing_modules", "require_extra", "require_gate_extra"]
