"""`release serve`: the change-board web UI on a local port."""

from __future__ import annotations

import json
import os
import socket

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(0, 65535),
              help="Port to bind; 0 picks a free one (the URL is printed).")
@click.option("--insecure-cookies", is_flag=True,
              help="Send the session cookie without the Secure flag, for plain-http loopback use only. "
                   "Behind HTTPS leave this off.")
@click.option("--json", "as_json", is_flag=True, help="Print {url} as JSON when listening.")
def command(host: str, port: int, insecure_cookies: bool, as_json: bool) -> None:
    """Serve releases, their change records, and approve/reject/sign-off forms for logged-in accounts.

    The session secret is RELEASE_SERVE_SECRET (32+ characters) or a random key per start.
    """
    import uvicorn

    from release.web.app import ServeSettings, create_app, session_secret
    from release.workflow.context import open_context

    project = open_context()
    app = create_app(ServeSettings(project=project, secret=session_secret(dict(os.environ)),
                                   secure_cookies=not insecure_cookies))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{bound}/"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                          proxy_headers=False))  # the login limit counts the real peer address
    click.echo(json.dumps({"url": url}) if as_json else f"serving the change board on {url}")
    try:
        server.run(sockets=[sock])
    finally:
        project.ledger.close()
