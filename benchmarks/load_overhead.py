"""Overhead of the load runner: `release load run` (lossless histogram capture) vs bare `locust`, same locustfile.

Both drive the ping persona (GET /ping, no wait) of load/locustfile.py with the same users and duration for
--rounds rounds, and every round is printed (both req/s and ours / bare), then the mean and median of the
per-round ratios and the ratio of the means (target >= 95 %).

Two designs:
- `--mode sequential` (the original): one sandbox; bare and ours one after the other, the order alternating
  (bare first in odd rounds, ours first in even ones) so a drift of the machine does not favour one side.
- `--mode paired` (default): each round runs bare and ours at the same time (bare starts when ours has probed
  the target and started its locust), each against its own sandbox, and the two sandboxes swap sides every round. Both sides see the same machine at the same moment, so a shared
  machine's swings (other jobs taking the CPU) cancel in the ratio, as in `release load ab`.

    python benchmarks/load_overhead.py --users 10 --duration 8 --rounds 6
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crvs_client.deployment import write_profile  # noqa: E402
from load.runner import LOCUSTFILE  # noqa: E402
from sandbox.process import SandboxProcess  # noqa: E402

Started = tuple[subprocess.Popen[bytes], Callable[[], float]]


def start_bare(url: str, target: Path, secrets: dict[str, str], users: int, duration: int, out: Path) -> Started:
    """Plain `locust` with the same locustfile and histogram capture off; the reader gives its req/s."""
    env = dict(os.environ, **secrets, CRVS_TARGET_FILE=str(target), CRVS_LOAD_WEIGHTS="ping=1", CRVS_LOAD_WAIT="0,0",
               CRVS_LOAD_CAPTURE="0", CRVS_LOAD_USERS=str(users), CRVS_LOAD_SPAWN_RATE=str(users),
               CRVS_LOAD_DURATION=str(duration))
    env.pop("CRVS_LOAD_OUT", None)
    proc = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
                             "-u", str(users), "-r", str(users), "-t", f"{duration}s", "--csv", str(out / "bare"),
                             "--only-summary", "--loglevel", "WARNING"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def rps() -> float:
        with (out / "bare_stats.csv").open() as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        return float(row["Requests/s"])

    return proc, rps


def start_ours(target: Path, secrets: dict[str, str], users: int, duration: int, out: Path) -> Started:
    """`release load run`; the reader gives its req/s (count / measured duration from stats.json)."""
    run_dir = out / "ours"
    proc = subprocess.Popen([sys.executable, "-m", "release.cli.main", "load", "run", "--target-file", str(target),
                             "--users", str(users), "--spawn-rate", str(users), "--duration", f"{duration}s",
                             "--out", str(run_dir), "--weights", "ping=1", "--wait", "0,0", "--json"],
                            cwd=str(ROOT), env=dict(os.environ, **secrets), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, lambda: float(json.loads((run_dir / "stats.json").read_text())["procedures"]["ping"]["rps"])


def await_locust(run_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Return when `release load run` has started its locust process (its log file exists)."""
    deadline = time.monotonic() + timeout
    while not (run_dir / "locust.log").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def finish(started: Started) -> float:
    """Wait for one side and read its req/s."""
    proc, rps = started
    proc.wait(timeout=300)
    return rps()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--mode", choices=("paired", "sequential"), default="paired")
    args = parser.parse_args()
    bare_rps: list[float] = []
    our_rps: list[float] = []
    sandboxes = 2 if args.mode == "paired" else 1
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        targets = []
        for i in range(sandboxes):
            sandbox = stack.enter_context(SandboxProcess())
            targets.append((sandbox.url, write_profile(sandbox.profile(), Path(tmp) / f"target-{i}.json"),
                            sandbox.profile_env()))
        for i in range(args.rounds):
            work = Path(tmp) / str(i)
            work.mkdir()
            if args.mode == "paired":
                (b_url, b_target, b_env), (_, o_target, o_env) = targets[i % 2], targets[(i + 1) % 2]
                our_side = start_ours(o_target, o_env, args.users, args.duration, work)
                await_locust(work / "ours", our_side[0])  # ours probes the target first: start together
                bare_side = start_bare(b_url, b_target, b_env, args.users, args.duration, work)
                got = {"bare": finish(bare_side), "ours": finish(our_side)}
                how = f"together, bare on sandbox {i % 2 + 1}"
            else:
                url, target, env = targets[0]
                order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
                got = {}
                for side in order:
                    started = (start_bare(url, target, env, args.users, args.duration, work) if side == "bare"
                               else start_ours(target, env, args.users, args.duration, work))
                    got[side] = finish(started)
                how = f"{order[0]} first"
            bare_rps.append(got["bare"])
            our_rps.append(got["ours"])
            print(f"round {i + 1} ({how}): bare locust {got['bare']:.1f} req/s, release load run "
                  f"{got['ours']:.1f} req/s, ratio {got['ours'] / got['bare']:.1%}", flush=True)
    ratios = [o / b for o, b in zip(our_rps, bare_rps, strict=True)]
    b, o = statistics.mean(bare_rps), statistics.mean(our_rps)
    print(f"mode {args.mode}: bare locust {b:.1f} req/s, release load run {o:.1f} req/s, ratio of means {o / b:.1%}; "
          f"per-round ratios: mean {statistics.mean(ratios):.1%}, median {statistics.median(ratios):.1%}, "
          f"min {min(ratios):.1%}, max {max(ratios):.1%} (target >= 95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
