"""The `sandbox` click group: `serve` runs the reference CRVS core, `seed` fills its database."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import click

from sandbox.settings import (
    DEFAULT_AUTH_RATE_LIMIT,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_COMMIT,
    DEFAULT_DEV_CODE,
    DEFAULT_SYSTEM_TOKEN_TTL,
    DEFAULT_USER_TOKEN_TTL,
    DEFAULT_VERSION,
)

LISTENING_PREFIX = "sandbox listening on "  # the gateway
REGISTER_PREFIX = "sandbox register host on "
CONFIG_PREFIX = "sandbox country config on "


@click.group("sandbox")
def group() -> None:
    """The reference CRVS core: an OpenCRVS v2.0.0 deployment's gateway, register and country config hosts."""


def _bind(host: str, port: int, option: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.UsageError(f"{option}: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def _check_login_code(two_fa: bool, dev_code: str) -> None:
    """Without 2FA OpenCRVS's code is always 000000; with it the sandbox 'sends' --dev-code, which must differ."""
    if not two_fa and dev_code != DEFAULT_DEV_CODE:
        raise click.UsageError(f"--dev-code {dev_code!r} needs --two-fa: without 2FA the login code is always "
                               f"{DEFAULT_DEV_CODE} (OpenCRVS TWO_FA_ENABLED=false)")
    if two_fa and (dev_code == DEFAULT_DEV_CODE or not dev_code.isdigit() or len(dev_code) != 6):
        raise click.UsageError("--two-fa needs --dev-code CODE: six digits other than 000000, the code the "
                               "sandbox 'sends' instead of an SMS")


@group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7070, show_default=True, type=int, help="The gateway's port; 0 picks a free port.")
@click.option("--register-port", default=0, show_default=True, type=int,
              help="The register (client) host's port: /api/* and the web client; 0 picks a free port.")
@click.option("--config-port", default=0, show_default=True, type=int,
              help="The country config host's port; 0 picks a free port.")
@click.option("--db", default="sandbox.db", show_default=True, help="SQLite path or a SQLAlchemy URL.")
@click.option("--client-id", default=DEFAULT_CLIENT_ID, show_default=True, envvar="SANDBOX_CLIENT_ID",
              help="The system client's id (a UUID, as OpenCRVS integration ids are).")
@click.option("--client-secret", default=DEFAULT_CLIENT_SECRET, envvar="SANDBOX_CLIENT_SECRET",
              help="System client secret (dev default release-gate-secret).")
@click.option("--app-version", default=DEFAULT_VERSION, show_default=True, help="What X-Version reports.")
@click.option("--app-commit", default=DEFAULT_COMMIT, hidden=True, help="Accepted for compatibility; not served.")
@click.option("--two-fa/--no-two-fa", default=False, show_default=True,
              help="2FA on: verifyCode wants --dev-code (OpenCRVS TWO_FA_ENABLED; off as in farajaland's dev/e2e/qa).")
@click.option("--dev-code", default=DEFAULT_DEV_CODE, show_default=True,
              help="The login code with --two-fa (without it the code is always 000000).")
@click.option("--token-ttl", default=DEFAULT_USER_TOKEN_TTL, show_default=True, type=click.IntRange(min=1),
              help="User token lifetime in seconds (CONFIG_TOKEN_EXPIRY_SECONDS).")
@click.option("--system-token-ttl", default=DEFAULT_SYSTEM_TOKEN_TTL, show_default=True,
              type=click.IntRange(min=1), help="System client token lifetime (CONFIG_SYSTEM_TOKEN_EXPIRY_SECONDS).")
@click.option("--jwt-secret", default="", envvar="SANDBOX_JWT_SECRET", help="HS256 key (default: derived).")
@click.option("--client", "clients", multiple=True, metavar="UUID:SECRET:SCOPES",
              help="An extra, narrower system client (repeatable).")
@click.option("--auth-rate-limit", default=DEFAULT_AUTH_RATE_LIMIT, show_default=True, type=click.IntRange(min=0),
              help="Gateway logins a minute per username (authenticate) and per nonce (verifyCode), else 402; 0 = off.")
@click.option("--async-confirm", "async_confirm", default=0.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="Answer confirmable actions as Requested and accept them SECONDS later.")
@click.option("--latency", multiple=True, metavar="PROCEDURE=MS", help="Added latency (repeatable; env SANDBOX_LATENCY).")
@click.option("--slowdown", multiple=True, metavar="PROCEDURE=FACTOR",
              help="Each call takes FACTOR times as long as it would have, e.g. event.search=1.20 (repeatable; "
                   "env SANDBOX_SLOWDOWN).")
@click.option("--tail", multiple=True, metavar="PROCEDURE=SHARE:+MS",
              help="SHARE of the calls get MS more, e.g. event.search=0.05:+50 (repeatable; env SANDBOX_TAIL).")
@click.option("--fault-seed", type=int, default=None, help="Seed of the --tail choice (env SANDBOX_FAULT_SEED; 0).")
@click.option("--error-rate", multiple=True, metavar="PROCEDURE=FRACTION",
              help="Fraction of calls that fail with 500 (repeatable; env SANDBOX_ERROR_RATE).")
@click.option("--defect", "defects", multiple=True, metavar="NAME", help="Inject a named defect (repeatable; env SANDBOX_DEFECTS).")
@click.option("--crash-after", type=int, default=None, help="Exit abruptly after N API requests (env SANDBOX_CRASH_AFTER).")
@click.option("--read-connections", "read_pool", default=24, show_default=True, type=click.IntRange(min=1),
              help="Database read connections kept open (as many again open when needed, then close).")
@click.option("--search-threads", default=4, show_default=True, type=click.IntRange(min=0),
              help="Searches that run at once; the rest wait their turn (0: no limit beyond the thread pool).")
@click.option("--search-processes", default=0, show_default=True, type=click.IntRange(min=0),
              help="Run searches in this many worker processes (each with its own GIL); 0: in the server's threads.")
@click.option("--wal-checkpoint", "wal_checkpoint", type=click.Choice(["background", "commit"]), default="background",
              show_default=True, help="SQLite: checkpoint the WAL from a background thread, or in the COMMIT that "
                                      "fills it (SQLite's default).")
@click.option("--gil-switch-ms", "gil_switch_ms", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="How long a thread may hold the GIL while another waits (Python's default is 5 ms; shorter lets "
                   "the one writer get back to its transaction between SQLite calls).")
@click.option("--json", "as_json", is_flag=True, help="Announce the three URLs, credentials and faults as one JSON line.")
def serve(host: str, port: int, register_port: int, config_port: int, db: str, client_id: str, client_secret: str,
          app_version: str, app_commit: str, two_fa: bool, dev_code: str, token_ttl: int, system_token_ttl: int,
          jwt_secret: str, clients: tuple[str, ...], auth_rate_limit: int, async_confirm: float,
          latency: tuple[str, ...], slowdown: tuple[str, ...], tail: tuple[str, ...], fault_seed: int | None,
          error_rate: tuple[str, ...], defects: tuple[str, ...], crash_after: int | None,
          read_pool: int, search_threads: int, search_processes: int, wal_checkpoint: str, gil_switch_ms: float,
          as_json: bool) -> None:
    """Run the sandbox (gateway, register and country config hosts) until Ctrl-C or SIGTERM."""
    from sandbox.app import create_apps, wrap_faults
    from sandbox.auth import DEV_USERS_BY_ROLE
    from sandbox.faults import FaultConfigError, build_faults
    from sandbox.server import serve_forever
    from sandbox.settings import ClientSpecError, Settings, check_client_id, database_url, parse_client

    _check_login_code(two_fa, dev_code)
    try:
        faults = build_faults(latency, error_rate, defects, crash_after, slowdown=slowdown, tail=tail, seed=fault_seed)
        client_id = check_client_id(client_id)
        extra = tuple(parse_client(c) for c in clients)
    except (FaultConfigError, ClientSpecError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    settings = Settings(db_url=database_url(db), client_id=client_id, client_secret=client_secret,
                        app_version=app_version, app_commit=app_commit, dev_code=dev_code, two_fa=two_fa,
                        token_ttl=token_ttl, system_token_ttl=system_token_ttl, jwt_secret=jwt_secret,
                        extra_clients=extra, auth_rate_limit=auth_rate_limit, async_confirm_s=async_confirm,
                        faults=faults, read_pool_size=read_pool,
                        background_checkpoint=wal_checkpoint == "background", search_threads=search_threads,
                        search_processes=search_processes)
    sockets = [_bind(host, port, "--port"), _bind(host, register_port, "--register-port"),
               _bind(host, config_port, "--config-port")]
    ports = [s.getsockname()[1] for s in sockets]
    apps = create_apps(settings)
    app = apps.dispatch(gateway_port=ports[0], register_port=ports[1], config_port=ports[2])
    gateway, register, config = (f"http://{host}:{p}" for p in ports)
    shown_secret = "(custom)" if client_secret != DEFAULT_CLIENT_SECRET else client_secret
    fault_info = faults.describe()
    if as_json:
        click.echo(json.dumps({"gateway": gateway, "register": register, "config": config, "url": gateway,
                               "version": app_version, "client_id": client_id, "client_secret": shown_secret,
                               "users": DEV_USERS_BY_ROLE, "dev_password": "test", "two_fa": two_fa,
                               "login_code": settings.login_code if not two_fa else "(custom)",
                               "auth_rate_limit": auth_rate_limit, "async_confirm_s": async_confirm,
                               "faults": fault_info}))
    else:
        click.echo(f"{LISTENING_PREFIX}{gateway}")
        click.echo(f"{REGISTER_PREFIX}{register}")
        click.echo(f"{CONFIG_PREFIX}{config}")
        click.echo(f"system client: client_id={client_id} client_secret={shown_secret}")
        users = ", ".join(f"{role}: {'/'.join(names)}" for role, names in DEV_USERS_BY_ROLE.items())
        click.echo(f"dev users ({users}), password test, code {'(--dev-code)' if two_fa else settings.login_code}")
        if faults.latency_ms or faults.error_rate or faults.defects or faults.crash_after or faults.timed:
            click.echo("faults: " + json.dumps(fault_info))
    sys.stdout.flush()
    serve_forever(wrap_faults(app, faults), sockets, gil_switch_s=gil_switch_ms / 1000.0)
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


@group.command("migrate")
@click.option("--db", required=True, help="SQLite path or a SQLAlchemy URL.")
@click.option("--to", "to", default=None, metavar="REV",
              help="The revision to go to (a full id or a unique prefix); default: the clean head.")
@click.option("--list", "list_revisions", is_flag=True, help="List the revisions and exit.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def migrate(db: str, to: str | None, list_revisions: bool, as_json: bool) -> None:
    """Apply the sandbox's versioned schema migrations (Alembic) to the database."""
    from sandbox.migrate import CLEAN_HEAD, MigrateError, revisions
    from sandbox.migrate import migrate as run_migrate
    from sandbox.settings import database_url

    if list_revisions:
        for rev in revisions():
            click.echo(f"{rev}{'  (clean head)' if rev == CLEAN_HEAD else ''}")
        return
    try:
        result = run_migrate(database_url(db), to)
    except MigrateError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        before = "an unversioned database (stamped at the baseline)" if result.stamped else result.before or "empty"
        click.echo(f"migrated {Path(db).name if '://' not in db else 'database'} from {before} to {result.after}")
