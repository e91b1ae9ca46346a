"""Runs the Locust scenarios headless as a subprocess, merges the histograms and writes stats.json."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crvs_client import TARGET_FILE_ENV, CRVSError, Deployment, DeploymentError, Target
from load import personas
from load.compare import FAIL, PASS, Comparison, Look, Policy, compare_windows
from load.errors import LoadInputError
from load.histogram import Histogram, histograms_document
from load.slo import SloPolicy, default_slo, evaluate
from load.stats import procedures_table, stats_document

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SCENARIO_NAME = "crvs-2x"
SHAPES = ("steady", "ramp", "spike")
DEFAULT_MAX_REQUESTS = 1_000_000
MAX_DURATION_S = 6 * 3600
STOP_GRACE_S = 60.0  # how long past the duration locust may take to start and stop before it is killed
DEFAULT_MASTER_PORT = 5557  # Locust's own default for --master-bind-port / --master-port
WORKER_STOP_S = 20.0  # how long local workers may take to quit after their master


@dataclass(frozen=True)
class RunOptions:
    """One load run: which deployment (a profile file), how hard, how long, and where the results go.

    `env` adds the secrets the profile names when they are not in this process's environment (a sandbox).
    """

    target_file: Path
    out: Path
    users: int = 20
    spawn_rate: float = 10.0
    duration_s: float = 60.0
    workers: int = 1
    master: bool = False  # a master only: `expect_workers` remote workers join it (`release load worker`)
    expect_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int = 0  # 0: a free port (local workers); Locust's 5557 when `master`
    worker_wait_s: float = 60.0
    shape: str = "steady"
    seed: int = 1
    max_requests: int = DEFAULT_MAX_REQUESTS
    weights: Mapping[str, int] = field(default_factory=lambda: dict(personas.DEFAULT_WEIGHTS))
    wait: tuple[float, float] = (0.1, 0.5)
    slo: SloPolicy | None = None
    allow_non_loopback: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def environ(self) -> dict[str, str]:
        """The environment the profile's secrets are read from."""
        return {**os.environ, **self.env}

    def deployment(self) -> Deployment:
        """The parsed profile; LoadInputError names the file and the key."""
        try:
            return Deployment.from_file(self.target_file, self.environ())
        except DeploymentError as exc:
            raise LoadInputError(f"--target-file: {exc}") from exc

    def scenario(self) -> dict[str, Any]:
        """The scenario object of stats.json (what must match for two runs to be compared)."""
        return {"name": SCENARIO_NAME, "users": self.users, "spawn_rate": self.spawn_rate,
                "duration_s": self.duration_s, "shape": self.shape, "weights": dict(self.weights),
                "seed": self.seed, "wait_s": list(self.wait), "workers": self.worker_count}

    @property
    def worker_count(self) -> int:
        """How many locust processes generate load: 1 alone, else the workers of one master."""
        return self.expect_workers if self.master else self.workers

    @property
    def distributed(self) -> bool:
        """Whether a master and workers run (Locust's distributed mode), rather than one local process."""
        return self.master or self.workers > 1


def parse_duration(text: str) -> float:
    """`60s`, `2m`, `1h` or plain seconds, as a positive number of seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise LoadInputError(f"duration {text!r}: expected a positive number with s, m or h (e.g. 60s)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def parse_wait(text: str) -> tuple[float, float]:
    """`MIN,MAX` seconds between a user's tasks."""
    try:
        parts = [float(p) for p in str(text).split(",")]
    except ValueError:
        raise LoadInputError(f"--wait {text!r}: expected MIN,MAX seconds") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise LoadInputError(f"--wait {text!r}: expected MIN,MAX seconds with 0 <= MIN <= MAX")
    return parts[0], parts[1]


def is_loopback(url: str) -> bool:
    """Whether the URL's host is localhost, 127.0.0.0/8 or ::1."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Roles the personas log in as: registrars run the write flow; searchers and readers use the system client.
LOAD_ROLES = ("local_registrar",)


def _validate_workers(opts: RunOptions) -> None:
    """The worker options: local workers, or a master that waits for remote ones, never both."""
    if opts.workers < 1:
        raise LoadInputError("--workers: expected at least 1")
    if opts.master and opts.workers != 1:
        raise LoadInputError("--master: remote workers join with `release load worker`; drop --workers")
    if opts.master and opts.expect_workers < 1:
        raise LoadInputError("--master: give --expect-workers N (at least 1)")
    if opts.expect_workers and not opts.master:
        raise LoadInputError("--expect-workers: only with --master")
    if not 0 <= opts.master_port <= 65535:
        raise LoadInputError(f"--master-port {opts.master_port}: expected a TCP port")
    if opts.distributed and not opts.allow_non_loopback and not is_loopback(f"tcp://{opts.master_bind}"):
        raise LoadInputError(f"--master-bind {opts.master_bind}: not a loopback address; Locust's worker channel "
                             "has no authentication, so pass --allow-non-loopback to open it to other hosts")
    if opts.worker_wait_s <= 0:
        raise LoadInputError("--worker-wait: expected a positive number of seconds")


def validate(opts: RunOptions) -> Deployment:
    """Reject options that cannot make a bounded, loopback-only run; returns the parsed deployment."""
    deployment = opts.deployment()
    if opts.weights.get("registrar", 0) > 0 and deployment.missing_roles(LOAD_ROLES):
        raise LoadInputError(f"--target-file {opts.target_file}: the registrar persona needs users.local_registrar "
                             "accounts (a pool of several spreads the login limit)")
    for url in (deployment.gateway, deployment.register):
        if url and not opts.allow_non_loopback and not is_loopback(url):
            raise LoadInputError(f"{urlsplit(url).hostname}: not a loopback address; pass --allow-non-loopback "
                                 "to load a non-local target")
    if opts.users < 1:
        raise LoadInputError("--users: expected at least 1")
    if opts.spawn_rate <= 0:
        raise LoadInputError("--spawn-rate: expected a positive number")
    if not 0 < opts.duration_s <= MAX_DURATION_S:
        raise LoadInputError(f"--duration: expected more than 0 and at most {MAX_DURATION_S}s")
    _validate_workers(opts)
    if opts.shape not in SHAPES:
        raise LoadInputError(f"--shape {opts.shape!r}: expected one of {', '.join(SHAPES)}")
    if opts.max_requests < 1:
        raise LoadInputError("--max-requests: expected at least 1")
    return deployment


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def target_record(deployment: Deployment, version: str = "") -> dict[str, str]:
    """The `target` object of stats.json: the hosts and the X-Version the gateway reported."""
    return {"name": deployment.name, "url": deployment.gateway, "gateway": deployment.gateway,
            "register": deployment.register or "", "version": version}


def probe_target(deployment: Deployment, *, registrar: bool = True) -> dict[str, str]:
    """Read the gateway's X-Version and log in the system client and one registrar (tokens are not kept: the
    locust process has its own cache); raises CRVSError when the deployment does not answer or accept us."""
    target = Target(deployment, timeout=10)
    version = target.identity()
    target.system_token()
    if registrar:
        target.user_token(deployment.account("local_registrar"))
    target.locations()
    return target_record(deployment, version)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (for a local master's worker channel)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def locust_command(opts: RunOptions, host: str, master_port: int = DEFAULT_MASTER_PORT) -> list[str]:
    """The locust command line of the run's one process, or of its master (`host` is the gateway)."""
    out = opts.out
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
           "--users", str(opts.users), "--spawn-rate", f"{opts.spawn_rate:g}",
           "--run-time", f"{round(opts.duration_s)}s", "--stop-timeout", "5", "--exit-code-on-error", "0",
           "--csv", str(out / "locust"), "--html", str(out / "locust-report.html"), "--only-summary",
           "--loglevel", "WARNING"]
    if opts.distributed:  # Locust's own distributed mode: this process only dispatches users and merges
        cmd += ["--master", "--master-bind-host", opts.master_bind, "--master-bind-port", str(master_port),
                "--expect-workers", str(opts.worker_count), "--expect-workers-max-wait", f"{opts.worker_wait_s:g}"]
    return cmd


def worker_command(master_host: str, master_port: int = DEFAULT_MASTER_PORT) -> list[str]:
    """A locust worker of our locustfile that joins the master at master_host:master_port (Locust's --worker)."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--exit-code-on-error", "0", "--loglevel", "WARNING"]


def locust_env(opts: RunOptions, policy: SloPolicy) -> dict[str, str]:
    """Environment of the locust processes: the scenario, the SLO (for early abort) and where to write parts."""
    env = opts.environ()
    env.update({
        TARGET_FILE_ENV: str(Path(opts.target_file).resolve()),
        "CRVS_LOAD_OUT": str(opts.out), "CRVS_LOAD_USERS": str(opts.users),
        "CRVS_LOAD_SPAWN_RATE": f"{opts.spawn_rate:g}", "CRVS_LOAD_DURATION": f"{opts.duration_s:g}",
        "CRVS_LOAD_SHAPE": opts.shape, "CRVS_LOAD_SEED": str(opts.seed),
        "CRVS_LOAD_MAX_REQUESTS": str(opts.max_requests),
        "CRVS_LOAD_WEIGHTS": ",".join(f"{k}={v}" for k, v in opts.weights.items()),
        "CRVS_LOAD_WAIT": f"{opts.wait[0]:g},{opts.wait[1]:g}",
        "CRVS_LOAD_SLO": json.dumps(policy.to_json()), "PYTHONUNBUFFERED": "1",
    })
    return env


def worker_exec(target_file: Path, master_host: str, master_port: int, *, seed: int = 1, weights: str | None = None,
                wait: str = "0.1,0.5", out: Path | None = None,
                allow_non_loopback: bool = False) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of `release load worker`: a Locust worker of our locustfile that joins a master.

    The scenario options must be the master's (the master checks them when the worker joins)."""
    try:
        parsed = personas.parse_weights(weights)
    except ValueError as exc:
        raise LoadInputError(f"--weights: {exc}") from exc
    opts = RunOptions(target_file=target_file, out=out or Path("."), seed=seed, weights=parsed, wait=parse_wait(wait),
                      allow_non_loopback=allow_non_loopback)
    validate(opts)
    if not master_host or (not allow_non_loopback and not is_loopback(f"tcp://{master_host}")):
        raise LoadInputError(f"--master-host {master_host!r}: not a loopback address; pass --allow-non-loopback "
                             "to join a master on another host")
    if not 0 < master_port <= 65535:
        raise LoadInputError(f"--master-port {master_port}: expected a TCP port")
    env = locust_env(opts, default_slo(personas.expected_procedures(parsed)))
    if out is None:
        env.pop("CRVS_LOAD_OUT")
    return worker_command(master_host, master_port), env


def _spawn(cmd: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start one locust process in its own session (so it and its children are stopped together)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


@dataclass
class MergedParts:
    """What the locust processes left in OUT/parts: histograms, failures, generator health and workers."""

    histograms: dict[str, Histogram] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    generators: list[dict[str, Any]] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)


def merge_parts(parts_dir: Path, expected: int) -> MergedParts:
    """Merge every histogram part (one from a local run or from the master); an error for each missing or
    unreadable part."""
    merged = MergedParts()
    files = sorted(parts_dir.glob("hist-*.json"))
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            for name, h in doc["procedures"].items():
                merged.histograms.setdefault(name, Histogram()).merge(Histogram.from_json(h))
            merged.failures.update({str(k): int(v) for k, v in doc["failures"].items()})
            merged.generators += [dict(g) for g in doc.get("generators", [])]
            merged.workers += [dict(w) for w in doc.get("workers", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            merged.errors.append(f"unreadable histogram part {f.name}: {exc}")
    if len(files) < expected:
        merged.errors.append(f"{expected - len(files)} of {expected} locust process(es) wrote no results (crashed?)")
    return merged


# -- is the load generator the bottleneck? (pure) ---------------------------------------------------
# On a CPU: Locust's own warning threshold (90 % of a core), in a tenth of the run's one-second samples.
CPU_LIMIT, CPU_SHARE = 0.90, 0.10
# Runnable (on a CPU or queued for one): the event loop never idles, in a quarter of the seconds. A light
# generator on a busy machine is runnable much of the time without being saturated, hence the higher bar.
DEMAND_LIMIT, DEMAND_SHARE = 0.97, 0.25
MIN_SATURATED_S = 2  # one bad second is a hiccup, however short the run


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(max(math.ceil(q * len(ordered)) - 1, 0), len(ordered) - 1)] if ordered else 0.0


def generator_health(sample: Mapping[str, Any]) -> dict[str, Any]:
    """One locust process's CPU and demand (quantiles of its per-second shares of a core) and loop lag."""
    cpu = [float(c) for c in sample.get("cpu", [])]
    demand = [float(c) for c in sample.get("demand", cpu)]
    lag = Histogram.from_json(sample.get("lag_ms") or {"values_ms": [], "counts": []})
    role, index = str(sample.get("role", "?")), sample.get("index")
    name = f"worker {index}" if role == "worker" else role
    return {"process": f"{name} (pid {sample.get('pid')} on {sample.get('host')})", "role": role, "index": index,
            "pid": sample.get("pid"), "host": sample.get("host"), "seconds": len(cpu),
            "cpu_p50": round(_quantile(cpu, 0.5), 3), "cpu_p90": round(_quantile(cpu, 0.9), 3),
            "demand_p90": round(_quantile(demand, 0.9), 3),
            "cpu_saturated_s": sum(c >= CPU_LIMIT for c in cpu),
            "demand_saturated_s": sum(c >= DEMAND_LIMIT for c in demand),
            "lag_p95_ms": lag.percentile(95), "lag_max_ms": lag.max()}


def _enough(seconds: int, share: float) -> int:
    return max(MIN_SATURATED_S, math.ceil(share * seconds))


def starved_generators(health: list[Mapping[str, Any]]) -> list[str]:
    """Why the run's latencies measure its load generator rather than the target: one reason per process that
    sends requests and was busy on a CPU (CPU_LIMIT) or runnable all the time (DEMAND_LIMIT) in enough of the
    run's seconds. A master only dispatches users and merges numbers: reported, never deciding."""
    reasons = []
    for h in health:
        if h["role"] == "master" or not h["seconds"]:
            continue
        n, late = h["seconds"], f"its event loop woke {h['lag_p95_ms']:.0f} ms late at p95"
        if h["cpu_saturated_s"] >= _enough(n, CPU_SHARE):
            reasons.append(f"load generator {h['process']} was CPU-saturated in {h['cpu_saturated_s']} of {n} s "
                           f"(limit {CPU_LIMIT:.0%} of a core in {_enough(n, CPU_SHARE)} s); {late}: its latencies "
                           "measure the generator, not the target (add workers)")
        elif h["demand_saturated_s"] >= _enough(n, DEMAND_SHARE):
            reasons.append(f"load generator {h['process']} was starved of CPU: runnable (on a CPU or waiting for "
                           f"one) {DEMAND_LIMIT:.0%} of the time or more in {h['demand_saturated_s']} of {n} s "
                           f"(limit {_enough(n, DEMAND_SHARE)} s); {late}: its latencies measure the generator, not "
                           "the target (free the CPU or add hosts)")
    return reasons


class Run:
    """One load run in progress or finished; `wait()` returns the stats document."""

    def __init__(self, opts: RunOptions, on_progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.deployment = validate(opts)
        self.opts = opts
        self.on_progress = on_progress
        self.policy = opts.slo if opts.slo is not None else default_slo(personas.expected_procedures(opts.weights))
        self.proc: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.target: dict[str, str] = target_record(self.deployment)
        self.errors: list[str] = []
        self.started_at = _now()

    def start(self) -> None:
        """Probe the target and start locust, and its local workers (an unusable target is an error, not raised)."""
        out = self.opts.out
        out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out / "parts", ignore_errors=True)
        for stale in ("stats.json", "histograms.json"):
            (out / stale).unlink(missing_ok=True)
        try:
            self.target = probe_target(self.deployment, registrar=self.opts.weights.get("registrar", 0) > 0)
        except CRVSError as exc:
            self.errors.append(f"target not usable before start: {exc}")
            return
        self.started_at = _now()
        port = self.opts.master_port or (DEFAULT_MASTER_PORT if self.opts.master else free_port())
        env = locust_env(self.opts, self.policy)
        self.proc = _spawn(locust_command(self.opts, self.deployment.gateway, port), env, out / "locust.log")
        local_workers = self.opts.workers if self.opts.distributed and not self.opts.master else 0
        for i in range(local_workers):
            self.workers.append(_spawn(worker_command("127.0.0.1", port), env, out / f"locust-worker-{i}.log"))

    def stop_all(self) -> None:
        """Stop the master (or the one process) and every local worker."""
        for proc in (self.proc, *self.workers):
            if proc is not None and proc.poll() is None:
                _stop(proc)

    def _check_workers(self, reported: set[int]) -> None:
        for i, w in enumerate(self.workers):
            if i not in reported and w.poll() is not None and w.returncode != 0:
                reported.add(i)
                self.errors.append(f"locust worker pid {w.pid} exited with code {w.returncode} during the run "
                                   f"(OUT/locust-worker-{i}.log): {_last_line(self.opts.out / f'locust-worker-{i}.log')}")

    def wait(self) -> dict[str, Any]:
        """Wait for locust (killing it past the deadline), merge results and write stats.json."""
        out = self.opts.out
        if self.proc is not None:
            waiting = self.opts.worker_wait_s if self.opts.distributed else 0.0
            deadline = time.monotonic() + self.opts.duration_s + STOP_GRACE_S + waiting
            progress = out / "parts" / "progress.json"
            reported: set[int] = set()
            try:
                while self.proc.poll() is None:
                    if time.monotonic() > deadline:
                        self.errors.append("locust did not stop in time; killed")
                        self.stop_all()
                        break
                    self._check_workers(reported)
                    if self.on_progress is not None and progress.exists():
                        with contextlib.suppress(OSError, ValueError):
                            self.on_progress(json.loads(progress.read_text(encoding="utf-8")))
                    time.sleep(0.5)
                self._reap_workers()
            except BaseException:
                self.stop_all()
                raise
            if self.proc.returncode not in (0, None) and not self.errors:
                self.errors.append(f"locust exited with code {self.proc.returncode}: "
                                   f"{_last_line(out / 'locust.log')}")
        return self._finish()

    def _reap_workers(self) -> None:
        """Give the local workers WORKER_STOP_S to quit after their master, then stop them."""
        until = time.monotonic() + WORKER_STOP_S
        for w in self.workers:
            try:
                w.wait(timeout=max(until - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _stop(w)

    def _finish(self) -> dict[str, Any]:
        out = self.opts.out
        finished_at = _now()
        merged = MergedParts()
        run_info: dict[str, Any] = {}
        if self.proc is not None:
            merged = merge_parts(out / "parts", 1)
            try:
                run_info = json.loads((out / "parts" / "run.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.errors.append("locust wrote no run record (it did not start or stop cleanly)")
            self.errors.extend(str(e) for e in run_info.get("errors", []))
            self.errors.extend(merged.errors)
            if self.opts.distributed and not merged.errors and len(merged.workers) != self.opts.worker_count:
                self.errors.append(f"{len(merged.workers)} of {self.opts.worker_count} locust workers sent results")
        started = run_info.get("started_at") or self.started_at
        finished = run_info.get("finished_at") or finished_at
        duration = _seconds_between(started, finished) or self.opts.duration_s
        histograms, failures = merged.histograms, merged.failures
        procedures = procedures_table(histograms, failures, duration)
        slo = evaluate(self.policy, procedures) if self.proc is not None else None
        missing = sorted(p for p in personas.expected_procedures(self.opts.weights) if p not in procedures)
        if self.proc is not None and missing:
            self.errors.append("no samples for " + ", ".join(missing))
        aborted = bool(run_info.get("aborted"))
        doc = stats_document(target=self.target, scenario=self.opts.scenario(), started_at=started,
                             finished_at=finished, procedures=procedures, slo=slo, aborted=aborted,
                             errors=self.errors)
        if aborted and doc["verdict"] == "PASSED":
            doc["verdict"] = doc["slo"]["verdict"] = "FAILED"
        if aborted:
            doc["errors"].extend(f"aborted early: {r}" for r in run_info.get("abort_reasons", []))
        if run_info.get("max_requests_reached"):
            doc["max_requests_reached"] = True
        self._judge_generators(doc, merged)
        _write(out / "histograms.json", histograms_document(histograms))
        _write(out / "stats.json", doc)
        return doc

    @staticmethod
    def _judge_generators(doc: dict[str, Any], merged: MergedParts) -> None:
        """Record each process's health and workers; a starved generator makes PASSED/FAILED INCONCLUSIVE."""
        try:
            doc["generators"] = [generator_health(g) for g in merged.generators]
        except (TypeError, ValueError, AttributeError) as exc:
            doc["generators"] = []
            doc["errors"].append(f"unreadable generator health: {exc}")
            doc["verdict"] = "ERROR"
        if merged.workers:
            doc["workers"] = merged.workers
        reasons = starved_generators(doc["generators"])
        if reasons and doc["verdict"] in ("PASSED", "FAILED"):
            doc["verdict"] = "INCONCLUSIVE"
        if reasons:
            doc["inconclusive"] = reasons


def _seconds_between(a: str, b: str) -> float:
    try:
        return max((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _write(path: Path, doc: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def run_load(opts: RunOptions, on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run one load test to the end and return its stats document (also written to OUT/stats.json)."""
    run = Run(opts, on_progress)
    run.start()
    return run.wait()


def run_ab(baseline: RunOptions, candidate: RunOptions,
           on_progress: Callable[[str, dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the same scenario against two targets in the same time window (no interim looks); the two stats."""
    policy = Policy(looks=1, window_s=auto_window(baseline.duration_s))
    result = run_ab_sequential(baseline, candidate, policy, on_progress, legs=1)
    return result.baseline, result.candidate


# -- A/B runs: paired windows, swapped start order, interim looks ------------------------------------------------
WINDOWS_SCHEMA = "crvs-release/load-windows/1"
STOP_REQUEST = "stop-requested"  # the file load/locustfile.py's window writer watches
AB_LEGS = 2
Windows = dict[int, dict[str, Histogram]]


@dataclass(frozen=True)
class AbResult:
    """Both sides' stats documents and the comparison of their paired windows (with its record of looks)."""

    baseline: dict[str, Any]
    candidate: dict[str, Any]
    comparison: Comparison


@dataclass(frozen=True)
class SideWindows:
    """One side's windows in one leg, and the span over which all its processes were recording."""

    windows: Windows
    first_ts: float
    last_ts: float


def read_side_windows(run_dir: Path) -> SideWindows:
    """Sum the windows-<pid>.json files of one run directory; LoadInputError when one is unreadable."""
    windows: Windows = {}
    firsts: list[float] = []
    lasts: list[float] = []
    for f in sorted((run_dir / "parts").glob("windows-*.json")):
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            if doc.get("schema") != WINDOWS_SCHEMA:
                raise ValueError(f"schema {doc.get('schema')!r}, expected {WINDOWS_SCHEMA}")
            for key, procs in doc["windows"].items():
                by_name = windows.setdefault(int(key), {})
                for name, h in procs.items():
                    by_name.setdefault(str(name), Histogram()).merge(Histogram.from_json(h))
            if doc["first_ts"]:
                firsts.append(float(doc["first_ts"]))
                lasts.append(float(doc["last_ts"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LoadInputError(f"{f}: unreadable window histograms ({exc})") from None
    return SideWindows(windows, max(firsts, default=0.0), min(lasts, default=0.0))


def paired_windows(legs: list[tuple[Path, Path]], window_s: float) -> tuple[Windows, Windows]:
    """The windows both sides recorded over their whole length, leg by leg (each side's first and last,
    partial, windows are dropped: one side may have started or stopped a little before the other)."""
    base_all: Windows = {}
    cand_all: Windows = {}
    for base_dir, cand_dir in legs:
        b, c = read_side_windows(base_dir), read_side_windows(cand_dir)
        start, end = max(b.first_ts, c.first_ts), min(b.last_ts, c.last_ts)
        for k in set(b.windows) & set(c.windows):
            if k * window_s >= start and (k + 1) * window_s <= end:
                base_all[k], cand_all[k] = b.windows[k], c.windows[k]
    return base_all, cand_all


def _leg_options(opts: RunOptions, leg: int, legs: int, window_s: float) -> RunOptions:
    """The options of one leg: a share of the duration, its own folder and seed, and the window length."""
    env = {**opts.env, "CRVS_LOAD_WINDOW_S": f"{window_s:g}"}
    if legs == 1:
        return replace(opts, env=env)
    return replace(opts, out=opts.out / f"leg-{leg + 1}", duration_s=opts.duration_s / legs,
                   seed=opts.seed + 1000 * leg, env=env)


def _merge_legs(opts: RunOptions, runs: list[Run], docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One stats.json and histograms.json for a side from its legs (SLOs judged on the merged histograms)."""
    histograms: dict[str, Histogram] = {}
    failures: Counter[str] = Counter()
    errors: list[str] = []
    for run, doc in zip(runs, docs, strict=True):
        try:
            hist = json.loads((run.opts.out / "histograms.json").read_text(encoding="utf-8"))["procedures"]
            for name, h in hist.items():
                histograms.setdefault(name, Histogram()).merge(Histogram.from_json(h))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            errors.append(f"{run.opts.out.name}: unreadable histograms ({exc})")
        failures.update({n: int(p.get("failures", 0)) for n, p in doc["procedures"].items()})
        if doc["verdict"] == "ERROR":  # otherwise its errors are SLO breaches, judged again on the merged legs
            errors.extend(f"{run.opts.out.name}: {e}" for e in doc["errors"])
    duration = sum(_seconds_between(d["started_at"], d["finished_at"]) for d in docs) or opts.duration_s
    procedures = procedures_table(histograms, failures, duration)
    policy = runs[0].policy
    slo = evaluate(policy, procedures)
    merged = stats_document(target=docs[0]["target"], scenario=opts.scenario(), started_at=docs[0]["started_at"],
                            finished_at=docs[-1]["finished_at"], procedures=procedures, slo=slo,
                            aborted=any(d["slo"].get("aborted") for d in docs), errors=errors)
    if any(d["verdict"] == "ERROR" for d in docs):
        merged["verdict"] = "ERROR"
    elif any(d["verdict"] == "INCONCLUSIVE" for d in docs) and merged["verdict"] != "ERROR":
        merged["verdict"] = "INCONCLUSIVE"
        merged["inconclusive"] = [r for d in docs for r in d.get("inconclusive", [])]
    merged["generators"] = [g for d in docs for g in d.get("generators", [])]
    merged["legs"] = [{"leg": i + 1, "out": r.opts.out.name, "verdict": d["verdict"], "started_at": d["started_at"],
                       "finished_at": d["finished_at"]} for i, (r, d) in enumerate(zip(runs, docs, strict=True))]
    _write(opts.out / "histograms.json", histograms_document(histograms))
    _write(opts.out / "stats.json", merged)
    return merged


class _Waiter:
    """Waits for one Run in a thread, so both sides run (and the looks happen) at the same time."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.doc: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        try:
            self.doc = self.run.wait()
        except BaseException as exc:  # re-raised in the caller's thread
            self.error = exc

    def result(self) -> dict[str, Any]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.doc is not None
        return self.doc


def _stop_early(run: Run) -> None:
    """Ask a running local locust to quit now; it writes its results as at the end of its run. (Not SIGTERM:
    the locust process dies of it without writing anything.)"""
    if run.proc is not None and run.proc.poll() is None:
        with contextlib.suppress(OSError):
            (run.opts.out / "parts" / STOP_REQUEST).write_text("decided\n", encoding="utf-8")


def _look_record(comparison: Comparison, look: Look, windows: int, run_s: float, wall_s: float) -> dict[str, Any]:
    deciding = {n: p.verdict for n, p in comparison.procedures.items() if p.decides}
    return {"look": look.index, "of": look.of, "fraction": round(look.fraction, 3), "windows": windows,
            "run_s": round(run_s, 1), "wall_s": round(wall_s, 1), "verdict": comparison.verdict, "deciding": deciding}


def auto_window(duration_s: float) -> float:
    """The default window: about twenty windows a run, between 1 and 5 s (60 s: 3 s; 20 s: 1 s)."""
    return float(min(max(round(duration_s / 20), 1), 5))


def planned_windows(duration_s: float, window_s: float, legs: int) -> int:
    """Paired windows a full run should give: each leg loses about its first and last (partial) windows."""
    return max(int(duration_s / window_s) - 2 * legs, 2)


def run_ab_sequential(baseline: RunOptions, candidate: RunOptions, policy: Policy,
                      on_progress: Callable[[str, dict[str, Any]], None] | None = None,
                      legs: int = AB_LEGS) -> AbResult:
    """An A/B run that looks at its paired windows `policy.looks` times and stops once the verdict is decisive.

    The duration is split into `legs`; each leg starts the two generators in the opposite order to the one
    before, so the side started first (and the process slots it gets) is not always the same one. Interim looks
    are taken when the paired windows reach 1/K, 2/K, ... of the planned count, and the error each may spend
    follows from that fraction (load/stats.py `spent_alpha`), so stopping early does not raise the error rates.
    Early stopping needs one local generator per side (a distributed side is only judged at the end).
    """
    if legs < 1 or policy.looks < 1:
        raise LoadInputError("--legs and --looks: expected at least 1")
    if not 1 <= policy.window_s <= baseline.duration_s / legs:
        raise LoadInputError(f"--window {policy.window_s:g}s: expected at least 1 s and at most a leg "
                             f"({baseline.duration_s / legs:g} s)")
    looks = 1 if baseline.distributed or candidate.distributed else policy.looks
    planned = planned_windows(baseline.duration_s, policy.window_s, legs)
    record: list[dict[str, Any]] = []
    leg_dirs: list[tuple[Path, Path]] = []
    leg_runs: tuple[list[Run], list[Run]] = ([], [])
    leg_docs: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    wall0, done_s = time.monotonic(), 0.0
    decided: Comparison | None = None
    looked, fractions, polled = [0], [0.0], [0.0]  # looks taken, the last look's fraction, last poll (monotonic)

    def labelled(label: str) -> Callable[[dict[str, Any]], None] | None:
        return None if on_progress is None else (lambda p: on_progress(label, p))

    def look(run_s: float, final: bool) -> Comparison | None:
        """Take the next look if the windows have reached its share of the plan (always, when `final`)."""
        base_w, cand_w = paired_windows(leg_dirs, policy.window_s)
        have = len(set(base_w) & set(cand_w))
        index = looks if final else looked[0] + 1
        if not final and have < math.ceil(index * planned / looks):
            return None
        fraction = 1.0 if final else min(have / planned, 0.999)
        at = Look(index, looks, fraction, fractions[0])
        looked[0], fractions[0] = index, fraction
        comparison = compare_windows(base_w, cand_w, policy, at)
        record.append(_look_record(comparison, at, have, run_s, time.monotonic() - wall0))
        return comparison

    for leg in range(legs):
        runs = [Run(_leg_options(baseline, leg, legs, policy.window_s), labelled("baseline")),
                Run(_leg_options(candidate, leg, legs, policy.window_s), labelled("candidate"))]
        leg_dirs.append((runs[0].opts.out, runs[1].opts.out))
        for r in runs[::-1] if leg % 2 else runs:
            r.start()
        leg0 = time.monotonic()
        waiters = [_Waiter(r) for r in runs]
        try:
            while any(w.thread.is_alive() for w in waiters):
                time.sleep(0.25)
                run_s = done_s + time.monotonic() - leg0
                if decided is None and looked[0] < looks - 1 and time.monotonic() - polled[0] >= 1:
                    polled[0] = time.monotonic()
                    interim = look(run_s, final=False)
                    if interim is not None and interim.verdict in (PASS, FAIL):
                        decided = interim
                        for r in runs:
                            _stop_early(r)
            docs = [w.result() for w in waiters]
        except BaseException:
            for r in runs:
                r.stop_all()
            raise
        for side in (0, 1):
            leg_runs[side].append(runs[side])
            leg_docs[side].append(docs[side])
        done_s += runs[0].opts.duration_s
        if decided is not None or any(d["verdict"] == "ERROR" for d in docs):
            break  # decided, or a side could not run: another leg would not change the answer
    stopped_s = record[-1]["run_s"] if decided is not None else baseline.duration_s
    if legs == 1:
        base_doc, cand_doc = leg_docs[0][0], leg_docs[1][0]
    else:
        base_doc = _merge_legs(baseline, leg_runs[0], leg_docs[0])
        cand_doc = _merge_legs(candidate, leg_runs[1], leg_docs[1])
    final = decided or look(baseline.duration_s, final=True)
    assert final is not None
    if decided is not None:
        reason = f"decisive ({final.verdict}) at look {record[-1]['look']} of {looks}, after {stopped_s:.0f} s"
    else:
        reason = f"ran the full {baseline.duration_s:g} s ({looks} look{'s' if looks > 1 else ''})"
    sequential = {"looks_planned": looks, "legs": legs, "window_s": policy.window_s, "windows_planned": planned,
                  "duration_s": baseline.duration_s, "stopped_early": decided is not None, "stopped_at_s": stopped_s,
                  "wall_s": round(time.monotonic() - wall0, 1), "reason": reason, "looks": record,
                  "spending": "O'Brien-Fleming-type alpha spending, one-sided (1 - confidence) / 2 per statistic"}
    return AbResult(base_doc, cand_doc, final.with_sequential(sequential))
