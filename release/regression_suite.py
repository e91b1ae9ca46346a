"""Run the standing regression suite as a pytest subprocess and read back its JSON summary.

The release tool never imports the suite: it locates the installed `regression` package, runs
`python -m pytest <suite> -p regression.plugin ...` and reads the `crvs-release/regression-summary/1`
document the plugin writes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from release.errors import InputError, UsageError

SUMMARY_SCHEMA = "crvs-release/regression-summary/1"
EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}


@dataclass(frozen=True)
class SuiteOptions:
    """What `release regression run` was asked to do: a deployment profile file, or a throwaway sandbox."""

    target_file: Path | None = None
    sandbox: bool = False
    markexpr: str | None = None
    keyword: str | None = None
    junit: Path | None = None
    summary: Path | None = None
    artifacts: Path | None = None
    workers: str | None = None
    reruns: int = 1
    cleanup: bool = False
    paths: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = field(default_factory=tuple)


def suite_dir() -> Path:
    """The installed `regression` package directory, found without importing it."""
    spec = importlib.util.find_spec("regression")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the regression suite (package 'regression') is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


TARGET_FILE_ENV = "CRVS_TARGET_FILE"


def target_file(options: SuiteOptions, environ: Mapping[str, str]) -> Path | None:
    """The profile file: --target-file, else $CRVS_TARGET_FILE (never with --sandbox)."""
    if options.target_file is not None:
        return options.target_file
    given = environ.get(TARGET_FILE_ENV)
    return Path(given) if given and not options.sandbox else None


def check_options(options: SuiteOptions, environ: Mapping[str, str]) -> None:
    """Refuse contradictory or incomplete options with one line; a bad profile is refused before pytest runs."""
    from crvs_client.deployment import Deployment, DeploymentError

    if options.sandbox and options.target_file is not None:
        raise UsageError("--target-file and --sandbox exclude each other: test a deployment or a throwaway sandbox")
    path = target_file(options, environ)
    if not options.sandbox and path is None:
        raise UsageError(f"no target: pass --target-file PATH (a deployment profile), set {TARGET_FILE_ENV}, "
                         "or use --sandbox")
    if path is not None:
        try:
            Deployment.from_file(path, environ)
        except DeploymentError as exc:
            raise InputError(f"--target-file: {exc}") from exc
    if options.reruns < 0:
        raise UsageError("--reruns: expected 0 or more")
    if options.workers is not None and options.workers != "auto" and not options.workers.isdigit():
        raise UsageError(f"--workers: expected a number or 'auto', got {options.workers!r}")


def pytest_argv(options: SuiteOptions, suite: Path, summary_path: Path, python: str = sys.executable) -> list[str]:
    """The pytest command line for these options (pure)."""
    if options.paths:
        argv = [python, "-m", "pytest", *options.paths, "-p", "regression.plugin"]
    else:
        argv = [python, "-m", "pytest", str(suite), "-p", "regression.plugin", "-c", str(suite / "suite.ini"),
                "--rootdir", str(suite.parent)]
    argv += ["-q", "-rfE", "--crvs-summary", str(summary_path)]
    if options.target_file is not None:
        argv += ["--crvs-target", str(options.target_file)]
    if options.sandbox:
        argv.append("--crvs-sandbox")
    if options.markexpr:
        argv += ["-m", options.markexpr]
    if options.keyword:
        argv += ["-k", options.keyword]
    if options.junit:
        argv += ["--junitxml", str(options.junit)]
    if options.artifacts:
        argv += ["--crvs-artifacts", str(options.artifacts)]
    if options.workers and options.workers != "0":
        argv += ["-n", options.workers]
    if options.reruns:
        argv += ["--reruns", str(options.reruns)]
    if options.cleanup:
        argv.append("--cleanup")
    return argv + list(options.pytest_args)


def _absolute(options: SuiteOptions) -> SuiteOptions:
    def fix(p: Path | None) -> Path | None:
        return p.resolve() if p is not None else None
    return SuiteOptions(**{**options.__dict__, "junit": fix(options.junit), "summary": fix(options.summary),
                           "artifacts": fix(options.artifacts), "target_file": fix(options.target_file)})


def error_summary(message: str, target: Path | None) -> dict[str, Any]:
    """A summary for a run that produced none (pytest crashed or could not start)."""
    return {"schema": SUMMARY_SCHEMA, "status": "error", "exit_code": 2, "error": message,
            "target": {"url": "", "profile": str(target or ""), "version": ""},
            "counts": {"total": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "flaky": 0},
            "markers": {}, "failures": [{"nodeid": "<run>", "markers": [], "reason": message}], "flaky": [],
            "passed_nodeids": [], "duration_s": 0.0, "started_at": "", "finished_at": "", "artifacts": []}


def read_summary(path: Path) -> dict[str, Any] | None:
    """The summary document, or None when it is missing or not this schema."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SUMMARY_SCHEMA or data.get("status") not in EXIT_CODES:
        return None
    return data


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return (lines[-1] if lines else "no output")[:200]


def run_suite(options: SuiteOptions, *, environ: Mapping[str, str] | None = None,
              stream: IO[str] | None = None, log_path: Path | None = None,
              timeout_s: float | None = None) -> dict[str, Any]:
    """Run the suite; returns its summary (status passed|failed|error). Pytest's console output goes to
    `log_path` (and to `stream` line by line when given)."""
    env = dict(os.environ if environ is None else environ)
    check_options(options, env)
    options = _absolute(SuiteOptions(**{**options.__dict__, "target_file": target_file(options, env)}))
    suite = suite_dir()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(suite.parent), env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="crvs-regression-run-") as tmp:
        summary_path = options.summary or Path(tmp) / "summary.json"
        log = log_path or Path(tmp) / "pytest-output.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        if summary_path.exists():
            summary_path.unlink()  # a stale summary must never be read as this run's result
        argv = pytest_argv(options, suite, summary_path)
        try:
            code = _run(argv, env, log, stream, timeout_s)
        except subprocess.TimeoutExpired:
            return error_summary(f"the regression suite did not finish within {timeout_s:g}s", options.target_file)
        except OSError as exc:
            return error_summary(f"the regression suite could not start: {exc}", options.target_file)
        summary = read_summary(summary_path)
        if summary is None:
            return error_summary(f"the regression suite exited {code} without a summary: {_last_line(log)}",
                                 options.target_file)
        if EXIT_CODES[summary["status"]] == 0 and code != 0:
            summary = {**summary, "status": "error", "exit_code": 2,
                       "error": f"the summary says passed but pytest exited {code}"}
        if log_path is not None:
            summary.setdefault("artifacts", []).append({"path": str(log_path.resolve()), "kind": "log"})
        return summary


def _run(argv: Sequence[str], env: Mapping[str, str], log: Path, stream: IO[str] | None,
         timeout_s: float | None) -> int:
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace")
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                out.write(line)
                if stream is not None:
                    stream.write(line)
                    stream.flush()
            return proc.wait(timeout=timeout_s)
        except BaseException:
            proc.kill()
            proc.wait()
            raise


def render_text(summary: Mapping[str, Any]) -> str:
    """A short human summary of a regression run."""
    counts = summary.get("counts", {})
    target = summary.get("target", {})
    lines = [f"regression suite {str(summary.get('status', 'error')).upper()} against {target.get('url', '?')} "
             f"(X-Version {target.get('version') or '?'}): {counts.get('passed', 0)} passed, "
             f"{counts.get('failed', 0)} failed, {counts.get('errors', 0)} errors, {counts.get('skipped', 0)} skipped, "
             f"{counts.get('flaky', 0)} flaky in {summary.get('duration_s', 0):.1f}s"]
    for failure in summary.get("failures", [])[:20]:
        lines.append(f"  FAILED {failure.get('nodeid')}: {failure.get('reason')}")
    for flaky in summary.get("flaky", []):
        lines.append(f"  FLAKY  {flaky.get('nodeid')} (passed after {flaky.get('reruns')} rerun(s))")
    cleanup = summary.get("cleanup")
    if cleanup:
        lines.append(f"  cleanup: {cleanup.get('archived', 0)} records archived, {cleanup.get('kept', 0)} kept")
    for artifact in summary.get("artifacts", []):
        lines.append(f"  {artifact.get('kind')}: {artifact.get('path')}")
    return "\n".join(lines)
