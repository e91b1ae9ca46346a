"""Wall time of the standing regression suite: serial against `-n 2`, each against a fresh sandbox.

Run from the repository root:
    .venv/bin/python benchmarks/regression_suite.py            # API and browser tests
    .venv/bin/python benchmarks/regression_suite.py -m "not browser" --workers 4
Prints one line per mode, then the speed-up ratio. Both runs must pass, or the figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from crvs_client.deployment import write_profile  # noqa: E402
from sandbox.process import SandboxProcess  # noqa: E402


def run_once(workers: int, markexpr: str | None, tmp: Path) -> tuple[float, dict]:
    """One suite run against its own fresh sandbox; (wall seconds, summary)."""
    summary_path = tmp / f"summary-{workers}.json"
    with SandboxProcess(tmp / f"sandbox-{workers}.db") as sandbox:
        target = write_profile(sandbox.profile(), tmp / f"target-{workers}.json")
        argv = [sys.executable, "-m", "pytest", "regression", "-p", "regression.plugin", "-q",
                "--crvs-target", str(target), "--crvs-summary", str(summary_path)]
        if workers > 1:
            argv += ["-n", str(workers)]
        if markexpr:
            argv += ["-m", markexpr]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRVS_")}, **sandbox.profile_env()}
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    return elapsed, json.loads(summary_path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", dest="markexpr", default=None, help="marker expression (default: every test)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-regression-") as tmp:
        results = {}
        for workers in (1, args.workers):
            elapsed, summary = run_once(workers, args.markexpr, Path(tmp))
            counts = summary["counts"]
            label = "serial" if workers == 1 else f"-n {workers}"
            print(f"{label:>8}: {elapsed:6.1f} s wall  ({summary['status']}: {counts['passed']} passed, "
                  f"{counts['failed']} failed, {counts['flaky']} flaky)")
            if summary["status"] != "passed":
                print(f"run with {label} did not pass; figures are not comparable", file=sys.stderr)
                return 1
            results[workers] = elapsed
    print(f"   ratio: serial / -n {args.workers} = {results[1] / results[args.workers]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
