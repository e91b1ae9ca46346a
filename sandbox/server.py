"""Serve the app with uvicorn on already-bound sockets; SIGTERM/Ctrl-C drain in-flight requests, then exit 0."""

from __future__ import annotations

import signal
import socket
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


def serve_forever(app: ASGIApp, sockets: list[socket.socket]) -> None:
    """Run until SIGTERM or SIGINT on every socket (one per host); in-flight requests complete first."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=15,
                            lifespan="on", backlog=2048)
    _GracefulServer(config).run(sockets=sockets)
