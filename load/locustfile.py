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
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
import gevent.event
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
                       "max_requests_reached": False, "errors": []}


CAPTURE = ENV.get("CRVS_LOAD_CAPTURE", "1") != "0"  # 0 only for benchmarks/load_overhead.py's bare run


def _record(name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
    if exception is not None:
        FAILURES[name] += 1
    else:
        hist = HISTOGRAMS.get(name)
        if hist is None:  # not setdefault: that builds a Histogram on every request
            hist = HISTOGRAMS[name] = Histogram()
        hist.add(response_time)
        if WINDOW_S > 0:
            _window_add(name, response_time)


if CAPTURE:
    events.request.add_listener(_record)


# -- per-window histograms for A/B runs (load/compare.py pairs the two sides' windows) -------------
# Windows are cut on the wall clock (epoch // WINDOW_S), so two generator processes on one host agree on them.
WINDOW_S = float(ENV.get("CRVS_LOAD_WINDOW_S", "5") or 0)
WINDOWS: dict[int, dict[str, Histogram]] = {}
SPAN = {"first_ts": 0.0, "last_ts": 0.0}  # this process's first and last recorded response (epoch seconds)


def _window_add(name: str, response_time: float) -> None:
    now = time.time()
    by_name = WINDOWS.get(int(now // WINDOW_S))
    if by_name is None:
        by_name = WINDOWS[int(now // WINDOW_S)] = {}
    hist = by_name.get(name)
    if hist is None:
        hist = by_name[name] = Histogram()
    hist.add(response_time)
    SPAN["first_ts"] = SPAN["first_ts"] or now
    SPAN["last_ts"] = now


def _write_windows(final: bool = False) -> None:
    """OUT/parts/windows-<pid>.json: every closed window (all of them when `final`), read at each A/B look."""
    if OUT is None or WINDOW_S <= 0:
        return
    current = int(time.time() // WINDOW_S)
    _write_json(OUT / "parts" / f"windows-{os.getpid()}.json", {
        "schema": "crvs-release/load-windows/1", "window_s": WINDOW_S, **SPAN, "final": final,
        "windows": {str(k): {n: h.to_json() for n, h in v.items()} for k, v in list(WINDOWS.items())
                    if final or k < current}})


STOP_REQUEST = "stop-requested"  # an A/B run that has decided asks its local runners to quit (load/runner.py)


def _window_writer(environment: Any) -> None:
    written = -1
    while True:
        gevent.sleep(0.5)
        current = int(time.time() // WINDOW_S)
        if current != written:
            written = current
            with contextlib.suppress(OSError):
                _write_windows()
        if OUT is not None and _role(environment) == "local" and (OUT / "parts" / STOP_REQUEST).exists():
            environment.runner.quit()  # as the request cap does: the results are written as at the end
            return


@events.test_start.add_listener
def _start_window_writer(environment: Any, **_: Any) -> None:
    if OUT is not None and WINDOW_S > 0 and _role(environment) != "master":
        gevent.spawn(_window_writer, environment)


@events.quitting.add_listener
def _write_final_windows(environment: Any, **_: Any) -> None:
    if environment.runner is not None and _role(environment) != "master":
        with contextlib.suppress(OSError):
            _write_windows(final=True)


def _role(environment: Any) -> str:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        return "master"
    if isinstance(runner, WorkerRunner):
        return "worker"
    return "local"


def _scenario() -> dict[str, str]:
    """What a worker must share with its master for their users to be the same scenario."""
    return {k: ENV.get(f"CRVS_LOAD_{k.upper()}", "") for k in ("weights", "wait", "seed")}


# -- generator health: is this process measuring the target, or its own queue? -------------------
LAG_INTERVAL_S = 0.05


def _scheduled_s() -> float | None:
    """Seconds this process's main thread (the gevent loop) was on a CPU or waiting in a run queue (Linux)."""
    try:
        on_cpu, queued = Path("/proc/self/schedstat").read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    return (int(on_cpu) + int(queued)) / 1e9


class GeneratorProbe:
    """Each second: this process's CPU share of a core and its demand (on a CPU or runnable and waiting for one);
    every 50 ms: how late the gevent loop wakes a timer.

    A generator that is runnable all the time answers its users' responses late, because it is busy (CPU-bound)
    or because other processes hold the CPU (starved): either way its latencies then measure the generator, not
    the target. Locust only logs a warning above 90 % CPU; the runner turns these samples into an INCONCLUSIVE
    verdict naming the process. Sampling starts once the users are spawned (their logins are not the run).
    """

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.demand: list[float] = []
        self.lag = Histogram()
        self._greenlet: Any = None

    def start(self) -> None:
        """Start sampling (once; a restarted test keeps adding samples)."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._sample)

    def stop(self) -> None:
        """Stop sampling."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _sample(self) -> None:
        wall, cpu, scheduled = time.perf_counter(), time.process_time(), _scheduled_s()
        while True:
            before = time.perf_counter()
            gevent.sleep(LAG_INTERVAL_S)
            now = time.perf_counter()
            self.lag.add(max(now - before - LAG_INTERVAL_S, 0.0) * 1000.0)
            if now - wall >= 1.0:
                used, sched = time.process_time(), _scheduled_s()
                self.cpu.append(round((used - cpu) / (now - wall), 3))
                busy = (sched - scheduled) if sched is not None and scheduled is not None else used - cpu
                self.demand.append(round(busy / (now - wall), 3))
                wall, cpu, scheduled = now, used, sched

    def to_json(self, role: str, index: int) -> dict[str, Any]:
        """`{"role", "index", "pid", "host", "cpu", "demand", "lag_ms"}`: fractions of a core per second, and
        the loop-lag histogram."""
        return {"role": role, "index": index, "pid": os.getpid(), "host": socket.gethostname(),
                "cpu": list(self.cpu), "demand": list(self.demand), "lag_ms": self.lag.to_json()}


PROBE = GeneratorProbe()
BURN_MS = float(ENV.get("CRVS_LOAD_TEST_BURN_MS", "0") or 0)  # tests only: CPU work per response, to starve


def _burn(**_: Any) -> None:
    until = time.process_time() + BURN_MS / 1000.0
    while time.process_time() < until:
        pass


if BURN_MS > 0:
    events.request.add_listener(_burn)


def _own_part(role: str, index: int) -> dict[str, Any]:
    """This process's histograms, failures, generator health and own request count (the requests its transport
    completed, counted apart from the histograms), as a part to merge."""
    from load.transport import LocustTransport

    return {"role": role, "index": index, "pid": os.getpid(), "host": socket.gethostname(), "scenario": _scenario(),
            "procedures": {n: h.to_json() for n, h in HISTOGRAMS.items()}, "failures": dict(FAILURES),
            "requests": LocustTransport.completed, "generators": [PROBE.to_json(role, index)]}


# -- distributed mode: workers send their parts to the master over Locust's own message channel ----
HELLO, FLUSH, PART = "crvs_hello", "crvs_flush", "crvs_part"
FLUSH_GRACE_S = 15.0  # past --stop-timeout, how long the master waits for every worker's part


class _Collector:
    """The master's view of its workers: who joined (pid, host), whose part arrived, who dropped out."""

    def __init__(self) -> None:
        self.joined: dict[int, dict[str, Any]] = {}
        self.parts: dict[int, dict[str, Any]] = {}
        self.lost: set[int] = set()
        self.flushed = gevent.event.Event()
        self.flushing = False

    def name(self, index: int) -> str:
        """`worker 2 (pid 123 on host-a)`, as far as the worker told us."""
        info = self.joined.get(index, {})
        where = f" (pid {info.get('pid')} on {info.get('host')})" if info else ""
        return f"worker {index}{where}"

    def on_hello(self, environment: Any, msg: Any, **_: Any) -> None:
        index = environment.runner.get_worker_index(msg.node_id)
        data = dict(msg.data or {})
        self.joined[index] = {"client_id": msg.node_id, "pid": data.get("pid"), "host": data.get("host")}
        if data.get("scenario") != _scenario():
            _fail(environment, f"{self.name(index)} runs another scenario ({data.get('scenario')}; the master "
                               f"runs {_scenario()}): start it with the master's --weights, --wait and --seed")

    def on_part(self, environment: Any, msg: Any, **_: Any) -> None:
        index = environment.runner.get_worker_index(msg.node_id)
        part = dict(msg.data or {})
        try:
            merged = {str(n): Histogram.from_json(h) for n, h in (part.get("procedures") or {}).items()}
            failures = {str(k): int(v) for k, v in (part.get("failures") or {}).items()}
        except (AttributeError, TypeError, ValueError) as exc:
            _fail(environment, f"{self.name(index)} sent unreadable results: {exc}")
            return
        for name, h in merged.items():
            HISTOGRAMS.setdefault(name, Histogram()).merge(h)
        FAILURES.update(failures)
        self.parts[index] = part
        self._check_complete()

    def _check_complete(self) -> None:
        if self.flushing and set(self.parts) | self.lost >= set(self.joined):
            self.flushed.set()

    def dropped(self, runner: Any) -> list[int]:
        """Workers that joined and are no longer connected and healthy (killed, lost, or quit early)."""
        alive = {runner.get_worker_index(c.id) for c in runner.clients.values() if c.state != "missing"}
        return sorted(i for i in self.joined if i not in alive and i not in self.parts)

    def note_dropped(self, environment: Any, when: str) -> None:
        """Record each worker that dropped out, once (the run is then ERROR and stops)."""
        for index in self.dropped(environment.runner):
            if index not in self.lost:
                self.lost.add(index)
                _fail(environment, f"{self.name(index)} dropped out of the run {when} (killed, or no heartbeat): "
                                   "its requests are lost")
        self._check_complete()

    def flush(self, environment: Any) -> None:
        """Ask every worker to stop its users and send its part; wait for all of them (bounded)."""
        timeout = (environment.stop_timeout or 0) + FLUSH_GRACE_S
        if self.flushing:
            self.flushed.wait(timeout=timeout)
            return
        self.flushing = True
        runner = environment.runner
        for c in runner.clients.values():  # a worker that never said hello still owes its part
            self.joined.setdefault(runner.get_worker_index(c.id), {})
        self.note_dropped(environment, "at the end of the run")
        runner.send_message(FLUSH)
        self._check_complete()
        deadline = time.monotonic() + timeout
        while not self.flushed.wait(timeout=1.0) and time.monotonic() < deadline:
            self.note_dropped(environment, "as the run stopped")
        for index in sorted(set(self.joined) - set(self.parts) - self.lost):
            _fail(environment, f"{self.name(index)} sent no results before the end of the run")
        self.flushed.set()

    def workers(self) -> list[dict[str, Any]]:
        """One row per worker: index, pid, host and the requests it counted itself."""
        return [{"index": i, "pid": p.get("pid"), "host": p.get("host"), "requests": p.get("requests")}
                for i, p in sorted(self.parts.items())]


COLLECTOR = _Collector()


def _fail(environment: Any, reason: str) -> None:
    """Record a run error (the verdict becomes ERROR); the first one also stops the run."""
    if reason in RUN["errors"]:
        return
    RUN["errors"].append(reason)
    runner = environment.runner
    if len(RUN["errors"]) == 1 and runner is not None and not COLLECTOR.flushing:
        gevent.spawn(runner.quit)


def _worker_flush(environment: Any, **_: Any) -> None:
    """Stop this worker's users, then send its part to the master (and keep its own count on disk)."""
    runner = environment.runner
    runner.stop()
    PROBE.stop()
    part = _own_part("worker", runner.worker_index)
    runner.send_message(PART, part)
    if OUT is not None:
        _write_json(OUT / "parts" / f"worker-{runner.worker_index}-{os.getpid()}.json",
                    {k: part[k] for k in ("role", "index", "pid", "host", "requests")})


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    role = _role(environment)
    if role == "master":
        runner.register_message(HELLO, COLLECTOR.on_hello)
        runner.register_message(PART, COLLECTOR.on_part)
    elif role == "worker":
        runner.register_message(FLUSH, _worker_flush, concurrent=True)
        runner.send_message(HELLO, {"pid": os.getpid(), "host": socket.gethostname(), "scenario": _scenario()})


@events.test_stopping.add_listener
def _on_test_stopping(environment: Any, **_: Any) -> None:
    # The run ends when its users are told to stop (as Locust's own req/s, which ends at the last request):
    # stopping them, and collecting the workers' parts, is not the run.
    role = _role(environment)
    if role != "worker":
        RUN["finished_at"] = RUN["finished_at"] or _now()
    if role == "master":
        COLLECTOR.flush(environment)


@events.quitting.add_listener
def _write_part(environment: Any, **_: Any) -> None:
    if OUT is None or environment.runner is None:
        return
    role = _role(environment)
    parts = OUT / "parts"
    if role == "local":
        PROBE.stop()
        _write_json(parts / f"hist-local-{os.getpid()}.json", _own_part("local", 0))
    if role == "master":
        PROBE.stop()
        part = _own_part("master", -1)
        part["generators"] += [g for p in COLLECTOR.parts.values() for g in p.get("generators", [])]
        part["workers"] = COLLECTOR.workers()
        part["requests"] = sum(int(p.get("requests") or 0) for p in COLLECTOR.parts.values())
        part["errors"] = list(RUN["errors"])
        _write_json(parts / f"hist-master-{os.getpid()}.json", part)
    if role in ("master", "local"):
        RUN["finished_at"] = RUN["finished_at"] or _now()
        _write_json(parts / "run.json", RUN)


# -- the monitor: progress, request cap, SLO abort, lost workers (master or local runner only) ----
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
        if runner is None or runner.state in ("stopping", "stopped", "quitting"):
            return
        total = runner.stats.total
        if OUT is not None:
            _write_json(OUT / "parts" / "progress.json", {
                "elapsed_s": round(time.monotonic() - started, 1), "users": runner.user_count,
                "requests": total.num_requests, "failures": total.num_failures,
                "rps": round(float(total.current_rps or 0), 1),
                "p95_ms": float(total.get_current_response_time_percentile(0.95) or 0)})
        if isinstance(runner, MasterRunner):
            COLLECTOR.note_dropped(environment, f"at {time.monotonic() - started:.0f}s")
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


@events.spawning_complete.add_listener
def _on_spawned(**_: Any) -> None:
    PROBE.start()


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if _role(environment) == "worker":
        return
    RUN["started_at"] = RUN["started_at"] or _now()
    gevent.spawn(_monitor, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    if _role(environment) != "worker":
        RUN["finished_at"] = RUN["finished_at"] or _now()


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
