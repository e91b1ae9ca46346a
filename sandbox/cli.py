"""The `sandbox` click group: `serve` runs the reference CRVS core, `seed` fills its database."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import click

from sandbox.settings import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_COMMIT,
    DEFAULT_DEV_CODE,
    DEFAULT_TOKEN_TTL,
    DEFAULT_VERSION,
)

LISTENING_PREFIX = "sandbox listening on "


@click.group("sandbox")
def group() -> None:
    """The reference CRVS core: a wire-compatible subset of the OpenCRVS 2.x gateway."""


@group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7070, show_default=True, type=int, help="0 picks a free port.")
@click.option("--db", default="sandbox.db", show_default=True, help="SQLite path or a SQLAlchemy URL.")
@click.option("--client-id", default=DEFAULT_CLIENT_ID, show_default=True, envvar="SANDBOX_CLIENT_ID")
@click.option("--client-secret", default=DEFAULT_CLIENT_SECRET, envvar="SANDBOX_CLIENT_SECRET",
              help="System client secret (dev default release-gate-secret).")
@click.option("--app-version", default=DEFAULT_VERSION, show_default=True)
@click.option("--app-commit", default=DEFAULT_COMMIT, show_default=True)
@click.option("--dev-code", default=DEFAULT_DEV_CODE, show_default=True, help="The login code for dev users.")
@click.option("--token-ttl", default=DEFAULT_TOKEN_TTL, show_default=True, type=click.IntRange(min=1),
              help="Token lifetime in seconds.")
@click.option("--jwt-secret", default="", envvar="SANDBOX_JWT_SECRET", help="HS256 key (default: derived).")
@click.option("--client", "clients", multiple=True, metavar="NAME:SECRET:SCOPES",
              help="An extra, narrower system client (repeatable).")
@click.option("--auth-rate-limit", default=0, type=click.IntRange(min=0),
              help="authenticate calls per minute per username (0 = off).")
@click.option("--latency", multiple=True, metavar="PROCEDURE=MS", help="Added latency (repeatable; env SANDBOX_LATENCY).")
@click.option("--error-rate", multiple=True, metavar="PROCEDURE=FRACTION",
              help="Fraction of calls that fail with 500 (repeatable; env SANDBOX_ERROR_RATE).")
@click.option("--defect", "defects", multiple=True, metavar="NAME", help="Inject a named defect (repeatable; env SANDBOX_DEFECTS).")
@click.option("--crash-after", type=int, default=None, help="Exit abruptly after N API requests (env SANDBOX_CRASH_AFTER).")
@click.option("--read-connections", "read_pool", default=8, show_default=True, type=click.IntRange(min=1),
              help="Database read connections.")
@click.option("--json", "as_json", is_flag=True, help="Announce the URL, credentials and faults as one JSON line.")
def serve(host: str, port: int, db: str, client_id: str, client_secret: str, app_version: str, app_commit: str,
          dev_code: str, token_ttl: int, jwt_secret: str, clients: tuple[str, ...], auth_rate_limit: int,
          latency: tuple[str, ...], error_rate: tuple[str, ...], defects: tuple[str, ...], crash_after: int | None,
          read_pool: int, as_json: bool) -> None:
    """Run the sandbox server until Ctrl-C or SIGTERM."""
    from sandbox.app import create_app, wrap_faults
    from sandbox.faults import FaultConfigError, build_faults
    from sandbox.server import serve_forever
    from sandbox.settings import Settings, database_url, parse_client

    try:
        faults = build_faults(latency, error_rate, defects, crash_after)
        extra = tuple(parse_client(c) for c in clients)
    except (FaultConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    settings = Settings(db_url=database_url(db), client_id=client_id, client_secret=client_secret,
                        app_version=app_version, app_commit=app_commit, dev_code=dev_code, token_ttl=token_ttl,
                        jwt_secret=jwt_secret, extra_clients=extra, auth_rate_limit=auth_rate_limit,
                        faults=faults, read_pool_size=read_pool)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.UsageError(f"--port: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    actual = sock.getsockname()[1]
    url = f"http://{host}:{actual}"
    shown_secret = "(custom)" if client_secret != DEFAULT_CLIENT_SECRET else client_secret
    fault_info = {"latency_ms": dict(faults.latency_ms), "error_rate": dict(faults.error_rate),
                  "defects": sorted(faults.defects), "crash_after": faults.crash_after}
    if as_json:
        click.echo(json.dumps({"url": url, "version": app_version, "commit": app_commit,
                               "client_id": client_id, "client_secret": shown_secret,
                               "dev_users": ["k.bwalya", "f.katongo", "k.mweene"], "dev_password": "test",
                               "dev_code": dev_code, "faults": fault_info}))
    else:
        click.echo(f"{LISTENING_PREFIX}{url}")
        click.echo(f"system client: client_id={client_id} client_secret={shown_secret}")
        click.echo(f"dev users: k.bwalya / f.katongo / k.mweene, password test, code {dev_code}")
        if faults.latency_ms or faults.error_rate or faults.defects or faults.crash_after:
            click.echo("faults: " + json.dumps(fault_info))
    sys.stdout.flush()
    serve_forever(wrap_faults(app, faults), sock)
    if not as_json:
        click.echo("sandbox stopped")


@group.command("seed")
@click.option("--db", required=True, help="SQLite path or a SQLAlchemy URL.")
@click.option("--records", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", "seed_value", default=1, show_default=True, type=int)
@click.option("--batch", default=10000, show_default=True, type=click.IntRange(min=100))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def seed(db: str, records: int, seed_value: int, batch: int, as_json: bool) -> None:
    """Fill the database with N deterministic synthetic records."""
    from sandbox.seed import SeedError, seed_database
    from sandbox.settings import database_url

    try:
        report = seed_database(database_url(db), records=records, seed=seed_value, batch=batch,
                               progress=None if as_json else lambda msg: click.echo(msg))
    except SeedError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"seeded {report['records']} records in {report['seconds']:.1f}s "
                   f"({report['rate']:.0f} records/s) into {Path(db).name if '://' not in db else 'database'}")
