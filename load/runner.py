"""Runs the Locust scenarios headless as a subprocess, merges the histograms and writes stats.json."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crvs_client import TARGET_FILE_ENV, CRVSError, Deployment, DeploymentError, Target
from load import personas
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
                "seed": self.seed, "wait_s": list(self.wait), "workers": self.workers}


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
    if opts.workers < 1:
        raise LoadInputError("--workers: expected at least 1")
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


def locust_command(opts: RunOptions, host: str) -> list[str]:
    """The locust command line for this run (`host` is the gateway)."""
    out = opts.out
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
           "--users", str(opts.users), "--spawn-rate", f"{opts.spawn_rate:g}",
           "--run-time", f"{round(opts.duration_s)}s", "--stop-timeout", "5", "--exit-code-on-error", "0",
           "--csv", str(out / "locust"), "--html", str(out / "locust-report.html"), "--only-summary",
           "--loglevel", "WARNING"]
    if opts.workers > 1:
        cmd += ["--processes", str(opts.workers)]
    return cmd


def locust_env(opts: RunOptions, policy: SloPolicy) -> dict[str, str]:
    """Environment of the locust process: the scenario, the SLO (for early abort) and where to write parts."""
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


def merge_parts(parts_dir: Path, expected: int) -> tuple[dict[str, Histogram], Counter[str], list[str]]:
    """Merge every process's histogram part; an error for each missing or unreadable part."""
    histograms: dict[str, Histogram] = {}
    failures: Counter[str] = Counter()
    errors: list[str] = []
    files = sorted(parts_dir.glob("hist-*.json"))
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            for name, h in doc["procedures"].items():
                histograms.setdefault(name, Histogram()).merge(Histogram.from_json(h))
            failures.update({str(k): int(v) for k, v in doc["failures"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            errors.append(f"unreadable histogram part {f.name}: {exc}")
    if len(files) < expected:
        errors.append(f"{expected - len(files)} of {expected} locust worker(s) wrote no results (crashed?)")
    return histograms, failures, errors


class Run:
    """One load run in progress or finished; `wait()` returns the stats document."""

    def __init__(self, opts: RunOptions, on_progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.deployment = validate(opts)
        self.opts = opts
        self.on_progress = on_progress
        self.policy = opts.slo if opts.slo is not None else default_slo(personas.expected_procedures(opts.weights))
        self.proc: subprocess.Popen[bytes] | None = None
        self.target: dict[str, str] = target_record(self.deployment)
        self.errors: list[str] = []
        self.started_at = _now()

    def start(self) -> None:
        """Probe the target and start locust (an unreachable target is recorded as an error, not raised)."""
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
        log = (out / "locust.log").open("wb")
        try:
            self.proc = subprocess.Popen(locust_command(self.opts, self.deployment.gateway),
                                         env=locust_env(self.opts, self.policy),
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            log.close()

    def wait(self) -> dict[str, Any]:
        """Wait for locust (killing it past the deadline), merge results and write stats.json."""
        out = self.opts.out
        if self.proc is not None:
            deadline = time.monotonic() + self.opts.duration_s + STOP_GRACE_S
            progress = out / "parts" / "progress.json"
            try:
                while self.proc.poll() is None:
                    if time.monotonic() > deadline:
                        self.errors.append("locust did not stop in time; killed")
                        _stop(self.proc)
                        break
                    if self.on_progress is not None and progress.exists():
                        with contextlib.suppress(OSError, ValueError):
                            self.on_progress(json.loads(progress.read_text(encoding="utf-8")))
                    time.sleep(0.5)
            except BaseException:
                _stop(self.proc)
                raise
            if self.proc.returncode not in (0, None) and not self.errors:
                self.errors.append(f"locust exited with code {self.proc.returncode}: "
                                   f"{_last_line(out / 'locust.log')}")
        return self._finish()

    def _finish(self) -> dict[str, Any]:
        out = self.opts.out
        finished_at = _now()
        histograms: dict[str, Histogram] = {}
        failures: Counter[str] = Counter()
        run_info: dict[str, Any] = {}
        if self.proc is not None:
            histograms, failures, part_errors = merge_parts(out / "parts", self.opts.workers)
            self.errors.extend(part_errors)
            try:
                run_info = json.loads((out / "parts" / "run.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.errors.append("locust wrote no run record (it did not start or stop cleanly)")
        started = run_info.get("started_at") or self.started_at
        finished = run_info.get("finished_at") or finished_at
        duration = _seconds_between(started, finished) or self.opts.duration_s
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
        _write(out / "histograms.json", histograms_document(histograms))
        _write(out / "stats.json", doc)
        return doc


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
    """Run the same scenario against two targets in the same time window."""
    def labelled(label: str) -> Callable[[dict[str, Any]], None] | None:
        if on_progress is None:
            return None
        return lambda p: on_progress(label, p)

    runs = [Run(baseline, labelled("baseline")), Run(candidate, labelled("candidate"))]
    for r in runs:
        r.start()
    try:
        docs = [r.wait() for r in runs]
    except BaseException:
        for r in runs:
            if r.proc is not None and r.proc.poll() is None:
                _stop(r.proc)
        raise
    return docs[0], docs[1]
