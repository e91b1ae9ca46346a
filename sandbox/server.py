"""Serve the app with uvicorn on already-bound sockets; SIGTERM/Ctrl-C drain in-flight requests, then exit 0."""

from __future__ import annotations

import signal
import socket
import sys
from types import FrameType

import uvicorn
from starlette.types import ASGIApp


class _GracefulServer(uvicorn.Server):
    """uvicorn's server without re-raising the stop signal, so a requested stop exits with status 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def serve_forever(app: ASGIApp, sockets: list[socket.socket], *, gil_switch_s: float | None = None) -> None:
    """Run until SIGTERM or SIGINT on every socket (one per host); in-flight requests complete first.

    `gil_switch_s` shortens the interpreter's switch interval. Every write runs on the one SQLite write connection
    and gives up the GIL at each statement; with searches runnable in other threads it waits up to an interval for
    it back each time, while every other writer waits for the connection (measured in docs/performance.md).
    """
    if gil_switch_s is not None:
        sys.setswitchinterval(gil_switch_s)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=15,
                            lifespan="on", backlog=2048)
    _GracefulServer(config).run(sockets=sockets)
