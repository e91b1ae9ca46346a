"""Locust's distributed mode on loopback: a master and 3 workers as separate processes against one sandbox.

Two runs share one sandbox and start together: `release load run --workers 3` (the runner starts the master and
its workers with `--master-host 127.0.0.1`), and a master (`release load run --master --expect-workers 3`) that
three `release load worker --master-host 127.0.0.1` processes join, one of which is killed with SIGKILL mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.process import SandboxProcess
from tests.conftest import free_port
from tests.integration.load.conftest import Finished, cli_env, finish, start_cli
from tests.integration.regression.targets import write_target

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("load-distributed")]

# Searchers and a trivial endpoint: two procedures, no registrar logins; two primed records per worker.
SCENARIO = ["--users", "6", "--spawn-rate", "6", "--weights", "searcher=1,ping=1", "--wait", "0.05,0.2"]
PRIME = {"CRVS_LOAD_PRIME": "2"}


@dataclass(frozen=True)
class DistributedRuns:
    """The finished local-workers run, and the remote-workers run with the pid of the worker that was killed."""

    local: Finished
    remote: Finished
    killed_pid: int
    killed_exit: int | None
    survivors_exit: list[int | None]


def _wait_for_requests(progress: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Return once the master's live progress shows requests (the run is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(progress.read_text(encoding="utf-8"))["requests"] > 0:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the master never reported requests (exit {proc.poll()})")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributedRuns]:
    home = tmp_path_factory.mktemp("distributed")
    with SandboxProcess() as sandbox:
        target, secrets = write_target(sandbox, home)
        env = {**secrets, **PRIME}
        local = start_cli(["load", "run", "--target-file", str(target), "--out", str(home / "local"),
                           "--workers", "3", "--duration", "5s", *SCENARIO, "--json"], home, env)
        port = free_port()
        remote = start_cli(["load", "run", "--target-file", str(target), "--out", str(home / "remote"), "--master",
                            "--expect-workers", "3", "--master-port", str(port), "--duration", "30s", *SCENARIO,
                            "--json"], home, env)
        workers = [subprocess.Popen([sys.executable, "-m", "release.cli.main", "load", "worker", "--master-host",
                                     "127.0.0.1", "--master-port", str(port), "--target-file", str(target),
                                     "--weights", "searcher=1,ping=1", "--wait", "0.05,0.2"],
                                    cwd=str(home), env={**cli_env(home), **env}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(3)]
        try:
            _wait_for_requests(home / "remote" / "parts" / "progress.json", remote)
            victim = workers[1]
            os.kill(victim.pid, signal.SIGKILL)
            done_remote = finish(remote, home / "remote")
            done_local = finish(local, home / "local")
            exits = [w.wait(timeout=60) for w in workers]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
    yield DistributedRuns(done_local, done_remote, victim.pid, exits[1], [exits[0], exits[2]])


def test_merged_histograms_count_every_request_the_three_workers_made(runs):
    # Nine processes start together on the test machine's cores, so a worker may rightly be found starved
    # (INCONCLUSIVE, exit 3: tests/integration/load/test_starved_generator.py); nothing may be lost either way.
    assert runs.local.exit_code in (0, 3), runs.local.stdout[-3000:] + runs.local.stderr[-2000:]
    stats = json.loads((runs.local.out / "stats.json").read_text())
    assert stats["errors"] == [] and stats["verdict"] in ("PASSED", "INCONCLUSIVE"), stats["errors"]
    histograms = json.loads((runs.local.out / "histograms.json").read_text())["procedures"]
    own = [json.loads(p.read_text()) for p in sorted((runs.local.out / "parts").glob("worker-*.json"))]
    assert sorted(w["index"] for w in own) == [0, 1, 2], "each of the 3 workers kept its own count"
    assert all(w["requests"] > 0 for w in own), own
    merged = sum(sum(h["counts"]) for h in histograms.values()) + sum(p["failures"] for p in
                                                                     stats["procedures"].values())
    assert merged == sum(w["requests"] for w in own) == sum(p["count"] for p in stats["procedures"].values())
    assert {w["pid"] for w in stats["workers"]} == {w["pid"] for w in own}
    assert {"event.search", "ping"} <= set(stats["procedures"])
    assert stats["scenario"]["workers"] == 3


def test_the_workers_are_separate_processes_that_report_their_own_health(runs):
    stats = json.loads((runs.local.out / "stats.json").read_text())
    roles = sorted(g["role"] for g in stats["generators"])
    assert roles == ["master", "worker", "worker", "worker"]
    assert len({g["pid"] for g in stats["generators"]}) == 4
    assert all(g["seconds"] >= 1 for g in stats["generators"])


def test_killing_one_worker_mid_run_makes_the_run_error_naming_it(runs):
    assert runs.killed_exit == -signal.SIGKILL
    assert runs.remote.exit_code == 2, runs.remote.stderr[-2000:]
    stats = json.loads(runs.remote.stdout)
    assert stats["verdict"] == "ERROR"
    first = stats["errors"][0]
    assert f"(pid {runs.killed_pid} on " in first and "dropped out of the run" in first, stats["errors"]
    assert json.loads((runs.remote.out / "stats.json").read_text())["verdict"] == "ERROR"


def test_the_surviving_workers_are_told_to_quit(runs):
    assert runs.survivors_exit == [0, 0]
