"""Locust scenarios for the load gate: registrar, searcher and reader personas over crvs_client.

The deployment is the profile named by CRVS_TARGET_FILE (docs/wire-contract.md section 2); `--host` is its
gateway. Registrars log in as local_registrar accounts from the profile's pool, round-robin, one token per
account per process (OpenCRVS allows 10 logins a minute per username); searchers and readers use the system
client. Configured by environment variables the runner sets (CRVS_LOAD_*); also usable with bare `locust -f`.
Every response time is recorded losslessly into per-procedure 0.1 ms histograms; each process writes its
part to CRVS_LOAD_OUT/parts/ when it quits, and the runner merges them.
"""

from __future__ import annotations

import contextlib
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

from crvs_client import CRVSClient, CRVSError, Deployment, SyntheticFactory, Target
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


# -- shared per-process state: the deployment, its tokens and locations, and one pool of records --
class _Shared:
    """What every user of this process shares; logins and discovery go over httpx, outside the stats."""

    def __init__(self) -> None:
        self.pool = personas.SearchPool()
        self.lock = threading.Lock()
        self.primed = False
        self._target: Target | None = None

    def target(self) -> Target:
        """The deployment of CRVS_TARGET_FILE, with its locations discovered once."""
        with self.lock:
            if self._target is None:
                target = Target(Deployment.from_env())
                target.locations()
                self._target = target
            return self._target

    def prime(self) -> None:
        """Fill the pool with records registered by a registrar, up to CRVS_LOAD_PRIME (outside the stats)."""
        with self.lock:
            if self.primed:
                return
            self.primed = True
        target = self.target()
        try:
            client: CRVSClient = target.user("local_registrar")
            factory = SyntheticFactory(SEED * 7919, locations=target.locations())
            while len(self.pool) < PRIME:
                personas.registrar_flow(client, factory, self.pool)
        except CRVSError:
            pass  # the users' own requests will then fail and show in the stats


SHARED = _Shared()
_counter: Counter[str] = Counter()


class CRVSUser(FastHttpUser):
    """A user with its own deterministic random stream and a crvs_client over Locust's client."""

    abstract = True
    wait_time = _wait_time()
    login_role: str | None = None  # None: the system client

    def on_start(self) -> None:
        kind = type(self).__name__
        _counter[kind] += 1
        worker = getattr(self.environment.runner, "worker_index", 0)
        self.rng = random.Random(f"{SEED}:{worker}:{kind}:{_counter[kind]}")
        target = SHARED.target()
        self.factory = SyntheticFactory(self.rng.randrange(2**31), locations=target.locations())
        transport = personas_transport(self)
        dep = target.deployment
        if self.login_role is None:
            office = target.locations().office.id
            self.crvs = CRVSClient(transport, target.system_token(), rest_base=dep.rest_base, location_id=office,
                                   user_type="system", relogin=lambda _c: target.system_token(fresh=True))
        else:
            account = target.next_account(self.login_role)
            self.crvs = CRVSClient(transport, target.user_token(account), rest_base=dep.rest_base,
                                   user_type="user", relogin=lambda _c: target.user_token(account, fresh=True))

    def guarded(self, step: Any) -> None:
        """Run one persona step; failed calls are already in Locust's stats, so the user carries on."""
        with contextlib.suppress(CRVSError):
            step()


def personas_transport(user: FastHttpUser) -> Any:
    from load.transport import LocustTransport

    return LocustTransport(user.client, user.host or "")


class RegistrarUser(CRVSUser):
    """A local registrar: create -> declare (keepAssignment) -> search by tracking ID -> register."""

    weight = WEIGHTS.get("registrar", 0)
    login_role = "local_registrar"

    @task
    def register_birth(self) -> None:
        self.guarded(lambda: personas.registrar_flow(self.crvs, self.factory, SHARED.pool))


class SearcherUser(CRVSUser):
    """Searches by fuzzy name, DOB and name, and registration number."""

    weight = WEIGHTS.get("searcher", 0)

    def on_start(self) -> None:
        super().on_start()
        SHARED.prime()

    @task
    def search(self) -> None:
        self.guarded(lambda: personas.searcher_flow(self.crvs, self.factory, SHARED.pool, self.rng))


class ReaderUser(CRVSUser):
    """Reads records with event.get, which writes a READ action in OpenCRVS v2.0.0."""

    weight = WEIGHTS.get("reader", 0)

    def on_start(self) -> None:
        super().on_start()
        SHARED.prime()

    @task
    def read(self) -> None:
        self.guarded(lambda: personas.reader_flow(self.crvs, SHARED.pool, self.rng))


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
