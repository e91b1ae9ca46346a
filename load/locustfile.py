"""Locust scenarios for the load gate: registrar, searcher and reader personas over crvs_client.

Configured by environment variables the runner sets (CRVS_LOAD_*); also usable with bare `locust -f`.
Every response time is recorded losslessly into per-procedure 0.1 ms histograms; each process writes its
part to CRVS_LOAD_OUT/parts/ when it quits, and the runner merges them.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, LoadTestShape, between, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from crvs_client import CRVSClient, CRVSError, HttpxTransport, SyntheticFactory, Unauthorized
from crvs_client.client import DEFAULT_LOCATION
from crvs_client.credentials import Credentials
from load import personas
from load.histogram import Histogram
from load.slo import abort_reasons, parse_slo

ENV = os.environ
WEIGHTS = personas.parse_weights(ENV.get("CRVS_LOAD_WEIGHTS"))
SEED = int(ENV.get("CRVS_LOAD_SEED", "1"))
OUT = Path(ENV["CRVS_LOAD_OUT"]) if ENV.get("CRVS_LOAD_OUT") else None
MAX_REQUESTS = int(ENV.get("CRVS_LOAD_MAX_REQUESTS", "0") or 0)
PRIME = int(ENV.get("CRVS_LOAD_PRIME", "20"))
SLO = parse_slo(json.loads(ENV["CRVS_LOAD_SLO"]), "CRVS_LOAD_SLO") if ENV.get("CRVS_LOAD_SLO") else None


def _wait_time() -> Any:
    low, _, high = ENV.get("CRVS_LOAD_WAIT", "0.1,0.5").partition(",")
    lo, hi = float(low), float(high or low)
    return constant(lo) if hi <= lo else between(lo, hi)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.replace(path)


# -- lossless latency capture --------------------------------------------------------------------
HISTOGRAMS: dict[str, Histogram] = {}
FAILURES: Counter[str] = Counter()
RUN: dict[str, Any] = {"started_at": None, "finished_at": None, "aborted": False, "abort_reasons": [],
                       "max_requests_reached": False}


CAPTURE = ENV.get("CRVS_LOAD_CAPTURE", "1") != "0"  # 0 only for benchmarks/load_overhead.py's bare run


def _record(name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
    if exception is not None:
        FAILURES[name] += 1
    else:
        HISTOGRAMS.setdefault(name, Histogram()).add(response_time)


if CAPTURE:
    events.request.add_listener(_record)


def _role(environment: Any) -> str:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        return "master"
    if isinstance(runner, WorkerRunner):
        return "worker"
    return "local"


@events.quitting.add_listener
def _write_part(environment: Any, **_: Any) -> None:
    if OUT is None or environment.runner is None:
        return
    role = _role(environment)
    parts = OUT / "parts"
    if role in ("worker", "local"):
        _write_json(parts / f"hist-{role}-{os.getpid()}.json", {
            "role": role, "procedures": {n: h.to_json() for n, h in HISTOGRAMS.items()},
            "failures": dict(FAILURES)})
    if role in ("master", "local"):
        RUN["finished_at"] = RUN["finished_at"] or _now()
        _write_json(parts / "run.json", RUN)


# -- the monitor: progress, request cap, SLO abort (master or local runner only) ------------------
def _live_procedures(environment: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (name, _method), entry in environment.runner.stats.entries.items():
        cur = out.setdefault(name, {"count": 0, "failures": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0,
                                    "rps": 0.0})
        cur["count"] += entry.num_requests  # includes failures
        cur["failures"] += entry.num_failures
        if entry.num_requests:
            for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
                cur[key] = max(cur[key], float(entry.get_response_time_percentile(q) or 0))
        cur["rps"] += float(entry.total_rps or 0)
    for cur in out.values():
        cur["error_rate"] = cur["failures"] / cur["count"] if cur["count"] else 0.0
    return out


def _monitor(environment: Any) -> None:
    started = time.monotonic()
    while True:
        gevent.sleep(1.0)
        runner = environment.runner
        if runner is None or runner.state in ("stopped", "quitting"):
            return
        total = runner.stats.total
        if OUT is not None:
            _write_json(OUT / "parts" / "progress.json", {
                "elapsed_s": round(time.monotonic() - started, 1), "users": runner.user_count,
                "requests": total.num_requests, "failures": total.num_failures,
                "rps": round(float(total.current_rps or 0), 1),
                "p95_ms": float(total.get_current_response_time_percentile(0.95) or 0)})
        if MAX_REQUESTS and total.num_requests >= MAX_REQUESTS:
            RUN["max_requests_reached"] = True
            runner.quit()
            return
        if SLO is not None and SLO.aborts and time.monotonic() - started >= SLO.grace_s:
            reasons = abort_reasons(SLO, _live_procedures(environment))
            if reasons:
                RUN["aborted"], RUN["abort_reasons"] = True, reasons
                runner.quit()
                return


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if _role(environment) == "worker":
        return
    RUN["started_at"] = RUN["started_at"] or _now()
    gevent.spawn(_monitor, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    if _role(environment) != "worker":
        RUN["finished_at"] = _now()


# -- shared per-process state: one token and one pool of records ---------------------------------
class _Shared:
    """The system-client token and the record pool shared by every user of this process."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.pool = personas.SearchPool()
        self.lock = threading.Lock()
        self.primed = False

    def credentials(self, host: str) -> Credentials:
        return Credentials.from_env(url=host)

    def get_token(self, host: str) -> str:
        """A client-credentials token, fetched once per process (not counted in the stats)."""
        with self.lock:
            if self.token is None:
                creds = self.credentials(host)
                transport = HttpxTransport(host, timeout=30)
                try:
                    self.token = CRVSClient(transport).authenticate_client(creds.client_id, creds.client_secret)
                finally:
                    transport.close()
            return self.token

    def prime(self, host: str, token: str) -> None:
        """Fill the pool from registered records on the target, creating up to CRVS_LOAD_PRIME if too few."""
        with self.lock:
            if self.primed:
                return
            self.primed = True
            transport = HttpxTransport(host, timeout=30)
            client = CRVSClient(transport, token, location_id=self.credentials(host).location_id or DEFAULT_LOCATION)
            try:
                found = client.search([{"status": {"type": "exact", "term": "REGISTERED"},
                                        "eventType": "birth"}], limit=200)
                for index in found.get("results", []):
                    personas.remember_index(self.pool, index)
                factory = SyntheticFactory(SEED * 7919)
                while len(self.pool) < PRIME:
                    personas.registrar_flow(client, factory, self.pool)
            except CRVSError:
                pass  # the users' own requests will then fail and show in the stats
            finally:
                transport.close()

    def invalidate(self) -> None:
        with self.lock:
            self.token = None


SHARED = _Shared()
_counter: Counter[str] = Counter()


class CRVSUser(FastHttpUser):
    """A user with its own deterministic random stream and a crvs_client over Locust's client."""

    abstract = True
    wait_time = _wait_time()

    def on_start(self) -> None:
        kind = type(self).__name__
        _counter[kind] += 1
        worker = getattr(self.environment.runner, "worker_index", 0)
        self.rng = random.Random(f"{SEED}:{worker}:{kind}:{_counter[kind]}")
        self.factory = SyntheticFactory(self.rng.randrange(2**31))
        self.crvs = CRVSClient(personas_transport(self), None,
                               location_id=SHARED.credentials(self.host).location_id or DEFAULT_LOCATION)

    def authenticated(self) -> CRVSClient:
        if self.crvs.token is None:
            self.crvs.token = SHARED.get_token(self.host)
        return self.crvs

    def guarded(self, step: Any) -> None:
        """Run one persona step; failed calls are already in Locust's stats, so the user carries on."""
        try:
            step()
        except Unauthorized:
            SHARED.invalidate()
            self.crvs.token = None
        except CRVSError:
            pass


def personas_transport(user: FastHttpUser) -> Any:
    from load.transport import LocustTransport

    return LocustTransport(user.client, user.host or "")


class RegistrarUser(CRVSUser):
    """create -> declare -> search by tracking ID -> assign -> register."""

    weight = WEIGHTS.get("registrar", 0)

    @task
    def register_birth(self) -> None:
        self.guarded(lambda: personas.registrar_flow(self.authenticated(), self.factory, SHARED.pool))


class SearcherUser(CRVSUser):
    """Searches by fuzzy name, DOB and name, and registration number."""

    weight = WEIGHTS.get("searcher", 0)

    def on_start(self) -> None:
        super().on_start()
        SHARED.prime(self.host, SHARED.get_token(self.host))

    @task
    def search(self) -> None:
        self.guarded(lambda: personas.searcher_flow(self.authenticated(), self.factory, SHARED.pool, self.rng))


class ReaderUser(CRVSUser):
    """Reads records with event.get."""

    weight = WEIGHTS.get("reader", 0)

    def on_start(self) -> None:
        super().on_start()
        SHARED.prime(self.host, SHARED.get_token(self.host))

    @task
    def read(self) -> None:
        self.guarded(lambda: personas.reader_flow(self.authenticated(), SHARED.pool, self.rng))


class PingUser(CRVSUser):
    """Hits /ping only: a trivial endpoint for measuring the runner's own overhead (weight 0 by default)."""

    weight = WEIGHTS.get("ping", 0)

    @task
    def ping(self) -> None:
        self.guarded(lambda: self.crvs.transport.request("GET", "/ping", name="ping"))


for _cls in (RegistrarUser, SearcherUser, ReaderUser, PingUser):
    _cls.abstract = _cls.weight <= 0
del _cls  # Locust collects every User class bound in this module; a leftover alias would count twice


class CRVSShape(LoadTestShape):
    """steady, ramp or spike, from CRVS_LOAD_SHAPE / _USERS / _SPAWN_RATE / _DURATION."""

    use_common_options = False

    def tick(self) -> tuple[int, float] | None:
        users = int(ENV.get("CRVS_LOAD_USERS", "10"))
        rate = float(ENV.get("CRVS_LOAD_SPAWN_RATE", "10"))
        duration = float(ENV.get("CRVS_LOAD_DURATION", "60"))
        shape = ENV.get("CRVS_LOAD_SHAPE", "steady")
        t = self.get_run_time()
        if t >= duration:
            return None
        if shape == "ramp":
            return max(1, min(users, int(users * (t + 1) / max(duration * 0.8, 1)) + 1)), rate
        if shape == "spike":
            base = max(1, users // 4)
            if 0.3 * duration <= t < 0.6 * duration:
                return users, float(users)
            return base, float(users)
        return users, rate
