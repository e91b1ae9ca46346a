"""A load generator that cannot keep up makes the run INCONCLUSIVE, naming the process.

The generator is pinned to one core with `taskset -c 0` and given more work than that core can do: 20 users
with no wait, each response costing it 5 ms of real CPU (CRVS_LOAD_TEST_BURN_MS, a test-only knob that burns CPU
in the request hook). Nothing says "starved": the runner reads it from the process's own CPU and run-queue time.
A calm run of the same target beside it stays PASSED.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.process import SandboxProcess
from tests.integration.load.conftest import Finished, cli_env, finish
from tests.integration.regression.targets import write_target

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("load-starved")]

TASKSET = shutil.which("taskset")


@dataclass(frozen=True)
class Runs:
    """The starved run and the calm one."""

    starved: Finished
    calm: Finished


def _start(args: list[str], home: Path, env: dict[str, str], prefix: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, sys.executable, "-m", "release.cli.main", *args], cwd=str(home),
                            env={**cli_env(home), **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    assert TASKSET, "taskset (util-linux) is needed to pin the generator to one core"
    home = tmp_path_factory.mktemp("starved")
    with SandboxProcess() as sandbox:
        target, secrets = write_target(sandbox, home)
        common = ["load", "run", "--target-file", str(target), "--weights", "ping=1", "--duration", "4s", "--json"]
        starved = _start([*common, "--out", str(home / "starved"), "--users", "20", "--spawn-rate", "20",
                          "--wait", "0,0"], home, {**secrets, "CRVS_LOAD_TEST_BURN_MS": "5"}, [TASKSET, "-c", "0"])
        calm = _start([*common, "--out", str(home / "calm"), "--users", "2", "--spawn-rate", "2",
                       "--wait", "0.2,0.3"], home, secrets, [])
        yield Runs(finish(starved, home / "starved"), finish(calm, home / "calm"))


def test_a_starved_generator_makes_the_run_inconclusive_naming_the_process(runs):
    assert runs.starved.exit_code == 3, runs.starved.stderr[-2000:]
    stats = json.loads(runs.starved.stdout)
    assert stats["verdict"] == "INCONCLUSIVE"
    [reason] = stats["inconclusive"]
    [part] = (runs.starved.out / "parts").glob("hist-local-*.json")
    pid = int(re.fullmatch(r"hist-local-(\d+)\.json", part.name).group(1))  # the locust process's own file
    assert f"load generator local (pid {pid} on " in reason
    assert "its latencies measure the generator, not the target" in reason
    [health] = stats["generators"]
    assert max(health["cpu_saturated_s"], health["demand_saturated_s"]) >= 2


def test_a_calm_generator_beside_it_keeps_its_verdict(runs):
    assert runs.calm.exit_code == 0, runs.calm.stderr[-2000:]
    stats = json.loads(runs.calm.stdout)
    assert stats["verdict"] == "PASSED" and "inconclusive" not in stats
    assert stats["generators"][0]["role"] == "local"
