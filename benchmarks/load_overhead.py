"""Overhead of the load runner: `release load run` (lossless histogram capture) vs bare `locust`, same locustfile.

Both drive the ping persona (GET /ping, no wait) of load/locustfile.py against one sandbox, alternating
bare / ours for --rounds rounds with the same users and duration; prints each req/s and ours / bare
(target >= 95 %).

    python benchmarks/load_overhead.py --users 10 --duration 15 --rounds 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crvs_client.deployment import write_profile  # noqa: E402
from load.runner import LOCUSTFILE  # noqa: E402
from sandbox.process import SandboxProcess  # noqa: E402


def bare(url: str, target: Path, secrets: dict[str, str], users: int, duration: int, out: Path) -> float:
    """req/s of plain `locust` with the same locustfile and histogram capture off."""
    env = dict(os.environ, **secrets, CRVS_TARGET_FILE=str(target), CRVS_LOAD_WEIGHTS="ping=1", CRVS_LOAD_WAIT="0,0", CRVS_LOAD_CAPTURE="0",
               CRVS_LOAD_USERS=str(users), CRVS_LOAD_SPAWN_RATE=str(users), CRVS_LOAD_DURATION=str(duration))
    env.pop("CRVS_LOAD_OUT", None)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
                    "-u", str(users), "-r", str(users), "-t", f"{duration}s", "--csv", str(out / "bare"),
                    "--only-summary", "--loglevel", "WARNING"], env=env, check=True, capture_output=True)
    with (out / "bare_stats.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["Requests/s"])


def ours(target: Path, secrets: dict[str, str], users: int, duration: int, out: Path) -> float:
    """req/s of `release load run` (count / measured duration from stats.json)."""
    run_dir = out / "ours"
    subprocess.run([sys.executable, "-m", "release.cli.main", "load", "run", "--target-file", str(target),
                    "--users", str(users),
                    "--spawn-rate", str(users), "--duration", f"{duration}s", "--out", str(run_dir),
                    "--weights", "ping=1", "--wait", "0,0", "--json"], check=False, capture_output=True,
                   cwd=str(ROOT), env=dict(os.environ, **secrets))
    stats = json.loads((run_dir / "stats.json").read_text())
    return float(stats["procedures"]["ping"]["rps"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    bare_rps, our_rps = [], []
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
        target, secrets = write_profile(sandbox.profile(), Path(tmp) / "target.json"), sandbox.profile_env()
        for i in range(args.rounds):
            work = Path(tmp) / str(i)
            work.mkdir()
            bare_rps.append(bare(sandbox.url, target, secrets, args.users, args.duration, work))
            our_rps.append(ours(target, secrets, args.users, args.duration, work))
            print(f"round {i + 1}: bare locust {bare_rps[-1]:.1f} req/s, release load run {our_rps[-1]:.1f} req/s",
                  flush=True)
    b, o = sum(bare_rps) / len(bare_rps), sum(our_rps) / len(our_rps)
    print(f"bare locust: {b:.1f} req/s  release load run: {o:.1f} req/s  ratio: {o / b:.1%} (target >= 95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
