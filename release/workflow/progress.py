"""Step-by-step progress lines: rich on a terminal, plain text otherwise (and nothing with --json)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def printer(*, quiet: bool = False) -> Callable[[str], None]:
    """A progress callback writing to stderr; styled when stderr is a TTY."""
    if quiet:
        return lambda _msg: None
    start = time.monotonic()
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.markup import escape

        console = Console(stderr=True, highlight=False)

        def rich_line(msg: str) -> None:
            console.print(f"[dim]{time.monotonic() - start:6.1f}s[/dim] [bold cyan]>[/bold cyan] {escape(msg)}",
                          markup=True, soft_wrap=True)

        return rich_line

    def plain_line(msg: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return plain_line
