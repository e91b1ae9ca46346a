"""Run one automated gate on a candidate and record its evidence; any failure to check is ERROR, never PASSED.

Each run is recorded RUNNING first, then finished with a state, a summary (``reason`` is the one line shown in
the checklist), the artifacts (copied into the evidence store with their sha256) and the evidence binding:
candidate sha, gate config hash, the target's gateway URL and the version it reported (``X-Version`` by
default), and the tool version. Regression and load run as subprocesses (``release regression run``,
``release load run|ab|compare``) that get the target's deployment profile (docs/wire-contract.md section 2) as
a JSON file in the run's folder, by ``--target-file`` and ``CRVS_TARGET_FILE``; only their result files are
read. Before anything runs, every secret env var the targets name must be set (a ConfigError, exit 2, and no
run is recorded).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.config import GateConfig, Target
from release.errors import UsageError
from release.gates import ArtifactRef, EvidenceBinding, GateKind, GateState
from release.ledger import CandidateRecord, ReleaseState
from release.workflow import drills
from release.workflow.context import Context
from release.workflow.deploy import command_argv, run_command
from release.workflow.status import tool_version
from release.workflow.target import TargetIdentity, probe_identity

DEFAULT_TIMEOUT_S = 1800.0
#: Kinds that check the deployment as it is (its backups), not the candidate on it: the target need not run it.
DEPLOYMENT_KINDS = frozenset({"restore-drill"})
MAX_ARTIFACT_FILES = 60
Progress = Callable[[str], None]


@dataclass(frozen=True)
class KindResult:
    """What a gate kind decided, why, and the files that prove it."""

    state: GateState
    reason: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    files: Sequence[tuple[Path, str]] = ()  # (file, artifact kind)


@dataclass(frozen=True)
class GateOutcome:
    """One finished gate run as the CLI reports it."""

    gate: str
    kind: str
    state: GateState
    reason: str
    run_id: int
    candidate_tag: str
    candidate_sha: str
    target: TargetIdentity | None
    artifacts: tuple[ArtifactRef, ...] = ()

    @property
    def passed(self) -> bool:
        """True only for PASSED."""
        return self.state is GateState.PASSED

    def to_json(self) -> dict[str, Any]:
        """A JSON-able view (the `release gate run --json` shape)."""
        return {"gate": self.gate, "kind": self.kind, "state": self.state.value, "reason": self.reason,
                "run_id": self.run_id, "candidate": {"tag": self.candidate_tag, "sha": self.candidate_sha},
                "target": self.target.to_json() if self.target else None,
                "artifacts": [{"path": a.path, "sha256": a.sha256, "size": a.size, "kind": a.kind}
                              for a in self.artifacts]}


def candidate_version(candidate: CandidateRecord) -> str:
    """The version string a target running this candidate reports, e.g. '1.2.0-rc.3'."""
    return f"{candidate.version}-rc.{candidate.rc}"


def find_candidate(ctx: Context, tag: str | None) -> CandidateRecord:
    """The candidate named by its rc tag (e.g. v1.2.0-rc.3), or the newest release's newest candidate."""
    from release.errors import InvalidVersion, UnknownCandidate
    from release.versioning import parse_version_tag, rc_number
    from release.workflow.status import resolve_release

    if tag is None:
        release = resolve_release(ctx, None)
        found = ctx.ledger.latest_candidate(release.version)
        if found is None:
            raise UnknownCandidate(f"release {release.version} has no candidate yet")
        return found
    parsed = parse_version_tag(tag.strip(), ctx.config.release.tag)
    rc = rc_number(parsed) if parsed is not None else None
    if parsed is None or rc is None:
        raise InvalidVersion(f"invalid candidate {tag!r}: expected a tag like "
                             f"{ctx.config.release.tag.replace('{version}', '1.2.0-rc.1')}")
    return ctx.ledger.get_candidate(str(parsed.finalize_version()), rc=rc)


def _silent(_: str) -> None:
    return None


def run_gate(ctx: Context, gate_name: str, candidate: CandidateRecord, *, forced_error: str | None = None,
             progress: Progress = _silent) -> GateOutcome:
    """Run one automated gate against its target and record the run; forced_error records ERROR without running."""
    gate = ctx.config.gate(gate_name)
    if not gate.automated:
        raise UsageError(f"gate {gate.name} is a {gate.kind} gate, decided by people, not run "
                         f"(use release sign-off, approve or accept)")
    target = ctx.config.targets[gate.target]
    require_gate_secrets(ctx, [gate])
    actor = ctx.actor or "release"
    probed = None if forced_error else probe_identity(target, environ=ctx.environ)
    seen = probed.identity if probed else None
    if seen is not None:
        seen = seen.with_images(deployed_images(ctx, candidate, target.name))
    binding = EvidenceBinding(commit_sha=candidate.sha, config_hash=gate.config_hash(), target_url=target.gateway,
                              target_version=seen.version if seen else "unknown", tool_version=tool_version())
    require_writable_dir(ctx.work_dir, "the gate runs folder")  # exit 2 before a run is recorded
    run = ctx.ledger.start_gate_run(candidate, gate.name, binding, actor=actor, now=ctx.now())
    workdir = ctx.work_dir / f"{candidate.version}-rc.{candidate.rc}" / f"{gate.name}-run-{run.id}"
    try:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        write_profile(target, workdir / "target.json")
    except OSError as exc:
        # The folder went away or turned read-only after the check: a run that cannot keep its files proves
        # nothing, and a RUNNING row would block for ever. It ends ERROR, fail closed.
        reason = f"could not write the run folder {workdir}: {exc.strerror or exc}"
        ctx.ledger.finish_gate_run(run.id, GateState.ERROR, {"kind": gate.kind, "reason": reason,
                                                             "target": seen.to_json() if seen else None},
                                   [], actor=actor, now=ctx.now())
        progress(f"gate {gate.name}: {GateState.ERROR.value}: {reason}")
        return GateOutcome(gate.name, gate.kind, GateState.ERROR, reason, run.id, candidate.tag, candidate.sha,
                           seen)
    progress(f"gate {gate.name} ({gate.kind}) on {candidate.tag} against {target.name} ({target.gateway})")
    result: KindResult
    interrupted: BaseException | None = None
    try:
        if forced_error:
            result = KindResult(GateState.ERROR, forced_error)
        elif seen is None:
            problem = probed.problem if probed else "not probed"
            result = KindResult(GateState.ERROR, f"target {target.name} did not say which build it runs: {problem}")
        elif gate.kind not in DEPLOYMENT_KINDS and not seen.runs(candidate_version(candidate), candidate.sha):
            result = KindResult(GateState.ERROR, f"target {target.name} reports {seen.version} ({seen.how}), "
                                                 f"not candidate {candidate.tag} ({candidate_version(candidate)})")
        else:
            result = KINDS[GateKind(gate.kind)](ctx, gate, target, candidate, workdir)
            after = probe_identity(target, environ=ctx.environ).identity
            if result.state is GateState.PASSED and (after is None or after != seen):
                result = KindResult(GateState.ERROR, f"target {target.name} changed or vanished during the run "
                                                     f"(now {after.version if after else 'unreachable'})",
                                    result.summary, result.files)
    except Exception as exc:  # the fail-closed boundary: whatever broke, this run did not pass
        result = KindResult(GateState.ERROR, f"gate could not run: {type(exc).__name__}: {exc}")
    except BaseException as exc:  # Ctrl-C: record ERROR, then let it propagate
        result, interrupted = KindResult(GateState.ERROR, "interrupted"), exc
    artifacts: list[ArtifactRef] = []
    state, reason = result.state, result.reason
    files = [(workdir / "target.json", "profile"), *result.files]
    for path, kind in files[:MAX_ARTIFACT_FILES]:
        try:
            artifacts.append(ctx.ledger.store_artifact(run.id, path, kind))
        except Exception as exc:  # evidence that cannot be kept proves nothing
            state, reason = GateState.ERROR, f"could not store artifact {path.name}: {exc}"
    summary = {"kind": gate.kind, **dict(result.summary), "reason": reason,
               "target": seen.to_json() if seen else None}
    ctx.ledger.finish_gate_run(run.id, state, summary, artifacts, actor=actor, now=ctx.now())
    progress(f"gate {gate.name}: {state.value}: {reason}")
    if interrupted is not None:
        raise interrupted
    return GateOutcome(gate.name, gate.kind, state, reason, run.id, candidate.tag, candidate.sha, seen,
                       tuple(artifacts))


def run_automated_gates(ctx: Context, candidate: CandidateRecord, *, forced_errors: Mapping[str, str] | None = None,
                        progress: Progress = _silent) -> list[GateOutcome]:
    """Run every automated gate in config order; forced_errors maps a target name to an ERROR reason."""
    forced = dict(forced_errors or {})
    require_gate_secrets(ctx, [g for g in ctx.config.gates.values() if g.automated])
    outcomes = []
    for gate in ctx.config.gates.values():
        if gate.automated:
            outcomes.append(run_gate(ctx, gate.name, candidate, forced_error=forced.get(gate.target),
                                     progress=progress))
    return outcomes


# ------------------------------------------------------------------------------------------------ kinds


def gate_targets(ctx: Context, gates: Sequence[GateConfig]) -> list[Target]:
    """The targets these gates run against, A/B baselines included, in order and without repeats."""
    names: list[str] = []
    for gate in gates:
        if not gate.automated:
            continue
        baseline = gate.options.get("baseline") or {}
        wanted = [gate.target]
        if gate.kind == "locust" and baseline.get("mode") == "ab":
            wanted.append(str(baseline.get("against")))
        names += [n for n in wanted if n not in names and n in ctx.config.targets]
    return [ctx.config.targets[n] for n in names]


def require_gate_secrets(ctx: Context, gates: Sequence[GateConfig]) -> None:
    """ConfigError (exit 2) naming the file and key of a secret env var these gates' targets need and lack.

    First, MissingExtra (exit 2) naming the ``pip install 'crvs-release[...]'`` line when a gate's tool comes from
    an extra that is not installed (locust gates need [load], browser gates [browser]): before any run is recorded,
    and before prepare cuts anything.
    """
    from release.extras import require_gate_extra

    for gate in gates:
        if gate.automated:
            require_gate_extra(gate.kind, gate.name)
    for target in gate_targets(ctx, gates):
        target.require_secrets(ctx.environ)


def require_writable_dir(path: Path, what: str, *, create: bool = True) -> None:
    """InputError (exit 2) unless `path` is, or can be made, a folder this process can write files in.

    Tried for real (mkdir, then a probe file made and removed): permission bits say nothing when running as root,
    and a file where the folder should be fails for everyone. With create=False (a dry run) nothing is made: the
    path, or its nearest existing parent, must be a folder that os.access says is writable.
    """
    import os
    import tempfile

    from release.errors import InputError

    path = Path(path)
    if not create:
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
            raise InputError(f"{path}: {what} cannot be written ({probe} is not a writable folder)")
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: {what} cannot be written: {exc.strerror or exc}") from None


def write_profile(target: Target, path: Path) -> Path:
    """Write the target's deployment profile (env var names, no secrets) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(target.profile(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def deploy_record_path(ctx: Context, candidate: CandidateRecord, target_name: str) -> Path:
    """Where prepare keeps what the deploy step of this candidate to this target recorded."""
    return ctx.work_dir / candidate_version(candidate) / f"deploy-{target_name}.json"


def deployed_images(ctx: Context, candidate: CandidateRecord, target_name: str) -> dict[str, str]:
    """The image tags the deploy hook reported for this candidate on this target (empty when none)."""
    data = _read_json(deploy_record_path(ctx, candidate, target_name))
    images = data.get("images") if data else None
    return {str(k): str(v) for k, v in images.items()} if isinstance(images, dict) else {}


def _placeholders(candidate: CandidateRecord, target: Target, workdir: Path) -> dict[str, str]:
    return {"version": candidate_version(candidate), "commit": candidate.sha, "tag": candidate.tag,
            "target_url": target.gateway, "gateway": target.gateway, "register": target.register or "",
            "target_file": str(workdir / "target.json"), "out": str(workdir)}


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _gate_env(ctx: Context, candidate: CandidateRecord, target: Target) -> dict[str, str]:
    env = dict(ctx.environ)
    env.update(RELEASE_TARGET_URL=target.gateway, RELEASE_TARGET_GATEWAY=target.gateway,
               RELEASE_TARGET_REGISTER=target.register or "", RELEASE_TARGET_CONFIG=target.config or "",
               RELEASE_TARGET_NAME=target.name, RELEASE_CANDIDATE_TAG=candidate.tag,
               RELEASE_CANDIDATE_SHA=candidate.sha, RELEASE_CANDIDATE_VERSION=candidate_version(candidate))
    return env


def _gate_env_with_profile(ctx: Context, candidate: CandidateRecord, target: Target, workdir: Path) -> dict[str, str]:
    env = _gate_env(ctx, candidate, target)
    env["CRVS_TARGET_FILE"] = str(workdir / "target.json")
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "release.cli.main", *args]


def _run_tool(argv: list[str], cwd: Path, env: Mapping[str, str], timeout_s: float, log: Path) -> int | None:
    """Run a tool with output to `log`; its exit code, or None when it timed out or could not start."""
    with log.open("wb") as out:
        try:
            proc = subprocess.run(argv, cwd=str(cwd), env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return None
        except OSError as exc:
            out.write(f"could not start {argv[0]}: {exc}\n".encode())
            return None
    return proc.returncode


def _log_tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(t.strip() for t in text[-lines:] if t.strip())[:300]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def junit_totals(path: Path) -> dict[str, Any]:
    """Count tests, failures, errors and skips in a JUnit XML file; ValueError when it is not one."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"unparseable JUnit XML: {exc}") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"not JUnit XML (root element <{root.tag}>)")
    cases = list(root.iter("testcase"))
    totals: dict[str, Any] = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    passed: list[str] = []
    failed: list[str] = []
    for case in cases:
        nodeid = junit_nodeid(case.get("classname", ""), case.get("name", ""))
        if case.find("failure") is not None:
            totals["failures"] += 1
            failed.append(nodeid)
        elif case.find("error") is not None:
            totals["errors"] += 1
            failed.append(nodeid)
        elif case.find("skipped") is not None:
            totals["skipped"] += 1
        else:
            passed.append(nodeid)
    totals["passed"] = len(passed)
    totals["passed_nodeids"] = sorted(passed)
    totals["failed_nodeids"] = sorted(failed)
    return totals


def junit_nodeid(classname: str, name: str) -> str:
    """A pytest-like node id from a JUnit test case (classname 'a.b.test_x' → 'a/b/test_x.py::name')."""
    if not classname:
        return name
    return f"{classname.replace('.', '/')}.py::{name}"


def _command(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> KindResult:
    values = _placeholders(candidate, target, workdir)
    argv = command_argv(_fill(str(gate.options["run"]), {k: v for k, v in values.items()
                                                          if k not in ("version", "commit", "tag")}),
                        version=values["version"], commit=values["commit"], tag=values["tag"], strict=False)
    junit = Path(_fill(str(gate.options["junit"]), values))
    junit = junit if junit.is_absolute() else ctx.root / junit
    junit.unlink(missing_ok=True)  # a stale file from an earlier run must never count
    timeout = float(gate.options.get("timeout", DEFAULT_TIMEOUT_S))
    result = run_command(argv, ctx.root, timeout_s=timeout, env=_gate_env_with_profile(ctx, candidate, target, workdir))
    log = workdir / "command-output.txt"
    log.write_text(result.output_tail, encoding="utf-8")
    files: list[tuple[Path, str]] = [(log, "log")]
    if result.exit_code is None:
        return KindResult(GateState.ERROR, f"command {argv[0]}: {result.output_tail}", {"exit_code": None}, files)
    if not junit.is_file():
        return KindResult(GateState.ERROR, f"command exited {result.exit_code} and wrote no JUnit XML at "
                                           f"{gate.options['junit']}", {"exit_code": result.exit_code}, files)
    kept = workdir / "junit.xml"
    shutil.copyfile(junit, kept)
    files.append((kept, "junit"))
    try:
        totals = junit_totals(kept)
    except ValueError as exc:
        return KindResult(GateState.ERROR, str(exc), {"exit_code": result.exit_code}, files)
    summary = {"exit_code": result.exit_code, **totals}
    bad = totals["failures"] + totals["errors"]
    if totals["tests"] == 0:
        return KindResult(GateState.ERROR, "JUnit XML lists no test cases", summary, files)
    if bad:
        return KindResult(GateState.FAILED, f"{bad} of {totals['tests']} tests failed: "
                                            f"{', '.join(totals['failed_nodeids'][:3])}", summary, files)
    if totals["passed"] == 0:
        return KindResult(GateState.ERROR, "no test passed (all skipped)", summary, files)
    if result.exit_code != 0:
        return KindResult(GateState.ERROR, f"command exited {result.exit_code} although its JUnit XML reports "
                                           "no failure", summary, files)
    return KindResult(GateState.PASSED, f"{totals['passed']} of {totals['tests']} tests passed", summary, files)


_REGRESSION_STATES = {"passed": GateState.PASSED, "failed": GateState.FAILED, "error": GateState.ERROR}


def _regression(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path,
                *, browser: bool = False) -> KindResult:
    markers = gate.options.get("markers")
    if browser:
        markers = f"browser and ({markers})" if markers else "browser"
    junit, summary_path, arts = workdir / "junit.xml", workdir / "regression-summary.json", workdir / "artifacts"
    argv = _cli("regression", "run", "--target-file", str(workdir / "target.json"), "--junit", str(junit),
                "--json", str(summary_path), "--artifacts", str(arts))
    if markers:
        argv += ["-m", str(markers)]
    for path in gate.options.get("paths", ()):
        argv += ["--path", path]
    for arg in gate.options.get("args", ()):
        argv += ["--pytest-arg", arg]
    log = workdir / "regression-output.txt"
    env = _gate_env_with_profile(ctx, candidate, target, workdir)
    if browser and gate.options.get("chromium"):
        # The browser the gate names; without it the suite finds Playwright's Chromium, then Debian's.
        chromium = Path(str(gate.options["chromium"]))
        env["CRVS_CHROMIUM"] = str(chromium if chromium.is_absolute() else ctx.root / chromium)
    code = _run_tool(argv, ctx.root, env, float(gate.options.get("timeout", DEFAULT_TIMEOUT_S)), log)
    files = [(p, k) for p, k in ((log, "log"), (junit, "junit"), (summary_path, "summary")) if p.is_file()]
    if arts.is_dir():
        files += [(p, "screenshot" if p.suffix == ".png" else "attachment")
                  for p in sorted(arts.rglob("*")) if p.is_file()]
    if code is None:
        return KindResult(GateState.ERROR, "regression run timed out or could not start", {}, files)
    data = _read_json(summary_path)
    if data is None:
        return KindResult(GateState.ERROR, f"regression run exited {code} without a JSON summary: "
                                           f"{_log_tail(log)}", {"exit_code": code}, files)
    status = data.get("status")
    state = _REGRESSION_STATES.get(status if isinstance(status, str) else "", GateState.ERROR)
    counts: dict[str, Any] = data["counts"] if isinstance(data.get("counts"), dict) else {}
    failures = [f for f in data.get("failures") or [] if isinstance(f, dict)]
    summary = {"exit_code": code, "status": status, "counts": counts,
               "passed_nodeids": list(data.get("passed_nodeids") or []),
               "failed_nodeids": [str(f.get("nodeid")) for f in failures],
               "flaky": [f.get("nodeid") for f in data.get("flaky") or [] if isinstance(f, dict)],
               "markers": markers, "suite_target": data.get("target")}
    if state is GateState.PASSED and code != 0:
        return KindResult(GateState.ERROR, f"regression summary says passed but the run exited {code}", summary, files)
    if state is GateState.PASSED:
        return KindResult(state, f"{counts.get('passed', '?')} passed, {counts.get('flaky', 0)} flaky, "
                                 f"{counts.get('skipped', 0)} skipped", summary, files)
    first = failures[0] if failures else {}
    detail = f"{first.get('nodeid')}: {first.get('reason')}" if first else _log_tail(log)
    if state is GateState.FAILED:
        return KindResult(state, f"{len(failures)} failed; first: {detail}"[:400], summary, files)
    return KindResult(GateState.ERROR, f"regression run error: {data.get('error') or detail}"[:400], summary, files)


def _pytest(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> KindResult:
    return _regression(ctx, gate, target, candidate, workdir)


def _browser(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> KindResult:
    return _regression(ctx, gate, target, candidate, workdir, browser=True)


_LOAD_EXIT = {0: GateState.PASSED, 1: GateState.FAILED, 3: GateState.INCONCLUSIVE}


def _seconds(value: Any) -> str:
    return f"{max(1, round(float(value)))}s"


def _write_slo(gate: GateConfig, workdir: Path) -> Path | None:
    slo = gate.options.get("slo")
    if not slo:
        return None
    path = workdir / "slo.json"
    path.write_text(json.dumps(_plain(slo), indent=2, sort_keys=True), encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# comparison.json schemas this version reads (load/compare.py READABLE_SCHEMAS; release/ reads files, not load/).
COMPARISON_SCHEMAS = ("crvs-release/load-comparison/1", "crvs-release/load-comparison/2")


def _comparison_reason(data: Mapping[str, Any] | None) -> str:
    """Name the deciding procedures a comparison failed (with the statistic: median or tail) or could not decide
    (with the run length that would decide them); reported-only procedures are left out."""
    if not data:
        return "no comparison result"
    procs: Mapping[str, Any] = data["procedures"] if isinstance(data.get("procedures"), Mapping) else {}
    parts = []
    for name, proc in sorted(procs.items()):
        if not isinstance(proc, Mapping) or proc.get("decides") is False:
            continue
        verdict = str(proc.get("verdict", "")).upper()
        if verdict in ("FAIL", "FAILED", "INCONCLUSIVE"):
            parts.append(_procedure_reason(name, verdict, proc))
    failed = [p for p in parts if " FAIL" in p]
    return "; ".join(failed or parts) or f"{data.get('verdict')}: {data.get('reason') or 'no reason recorded'}"


def _procedure_reason(name: str, verdict: str, proc: Mapping[str, Any]) -> str:
    failed_on = [str(k) for k in proc.get("failed_on") or []]
    text = f"{name} {verdict}" + (f" ({', '.join(failed_on)})" if failed_on else "")
    stats = proc.get("statistics")
    undecided = [k for k in ("median", "tail") if isinstance(stats, Mapping) and isinstance(stats.get(k), Mapping)
                 and stats[k].get("verdict") == "INCONCLUSIVE"]
    key = failed_on[0] if failed_on else (undecided[-1] if undecided else "median")
    found = stats.get(key) if isinstance(stats, Mapping) else None
    stat: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    ratio = stat.get("ratio", proc.get("ratio"))
    lo, hi = stat.get("fail_bound", proc.get("ci_low")), stat.get("pass_bound", proc.get("ci_high"))
    if isinstance(ratio, (int, float)):
        text += f": {key} {ratio - 1:+.0%}"
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        text += f" (CI {lo - 1:+.0%}..{hi - 1:+.0%})"
    base, cand = proc.get("median_baseline_ms"), proc.get("median_candidate_ms")
    if isinstance(base, (int, float)) and isinstance(cand, (int, float)):
        text += f", median {base:.0f} ms -> {cand:.0f} ms"
    needed = proc.get("needed")
    if verdict == "INCONCLUSIVE" and isinstance(needed, Mapping) and isinstance(needed.get("seconds"), (int, float)):
        text += (f"; about {needed['seconds']:.0f} s of run (~{needed.get('samples_per_side')} samples a side) "
                 "would decide it at the noise observed")
    elif verdict == "INCONCLUSIVE" and proc.get("reason"):
        text += f"; {str(proc['reason'])[:200]}"
    return text


def _load_files(directory: Path, prefix: str) -> list[tuple[Path, str]]:
    """Flatten a load output folder into uniquely named files for the evidence store."""
    files: list[tuple[Path, str]] = []
    if not directory.is_dir():
        return files
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.suffix in (".json", ".csv", ".html", ".txt", ".log"):
            flat = p.parent / f"{prefix}{'-'.join(p.relative_to(directory).parts)}"
            if flat != p:
                shutil.copyfile(p, flat)
            files.append((flat, "load"))
    return files


def _ab_files(out: Path) -> list[tuple[Path, str]]:
    """An A/B run's evidence, the documents the verdict rests on first (the ledger keeps MAX_ARTIFACT_FILES):
    comparison.json, each side's merged stats and histograms, then each leg's window histograms and log. A leg's
    own stats.json is left out: the report reads one stats document a side, the merged one."""
    wanted = [out / "comparison.json"] + [out / side / name for side in ("baseline", "candidate")
                                          for name in ("stats.json", "histograms.json")]
    for side in ("baseline", "candidate"):
        for leg in sorted((out / side).glob("leg-*")) or [out / side]:
            wanted += [*sorted((leg / "parts").glob("windows-*.json")), leg / "locust.log"]
    files: list[tuple[Path, str]] = []
    for p in wanted:
        if p.is_file():
            flat = out / f"ab-{'-'.join(p.relative_to(out).parts)}"
            shutil.copyfile(p, flat)
            files.append((flat, "log" if p.suffix == ".log" else "load"))
    return files


def _production_load_evidence(ctx: Context, gate: GateConfig) -> list[Path] | None:
    """The stats/histograms of the last PASSED run of this gate on the release now in production, if any."""
    promoted = [r for r in ctx.ledger.list_releases() if r.state is ReleaseState.PROMOTED]
    for release in reversed(promoted):
        candidate = ctx.ledger.latest_candidate(release.version)
        if candidate is None:
            continue
        runs = [r for r in ctx.ledger.runs_for(candidate, gate.name) if r.state is GateState.PASSED
                and r.summary.get("scenario") == gate.options.get("scenario")]
        for run in reversed(runs):
            paths = [ctx.ledger.artifacts.path_of(a) for a in run.artifacts if a.kind == "load"]
            if any(p.name.endswith("stats.json") for p in paths):
                return paths
    return None


def _locust(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> KindResult:
    opts = gate.options
    env = _gate_env_with_profile(ctx, candidate, target, workdir)
    timeout = float(opts.get("timeout", float(opts["duration"]) * 4 + 300))
    slo = _write_slo(gate, workdir)
    baseline = opts.get("baseline") or {}
    common = ["--users", str(opts["users"]), "--duration", _seconds(opts["duration"])]
    if "spawn_rate" in opts:
        common += ["--spawn-rate", f"{float(opts['spawn_rate']):g}"]
    if slo is not None:
        common += ["--slo", str(slo)]
    if "workers" in opts:
        common += ["--workers", str(opts["workers"])]
    if opts.get("allow_non_loopback"):
        common += ["--allow-non-loopback"]
    log = workdir / "load-output.txt"
    summary: dict[str, Any] = {"scenario": opts.get("scenario"), "users": opts["users"], "duration_s": opts["duration"]}
    if baseline.get("mode") == "ab":
        against = ctx.config.targets.get(str(baseline.get("against")))
        if against is None:
            return KindResult(GateState.ERROR, f"baseline target {baseline.get('against')!r} is not configured")
        out = workdir / "ab"
        baseline_file = write_profile(against, workdir / "baseline-target.json")
        argv = _cli("load", "ab", "--baseline-file", str(baseline_file), "--candidate-file",
                    str(workdir / "target.json"), "--out", str(out),
                    "--max-slowdown", f"{baseline['max_slowdown']:g}", "--confidence", f"{baseline['confidence']:g}",
                    "--min-samples", str(baseline.get("min_samples", 30)), *_ab_flags(baseline), *common)
        code = _run_tool(argv, ctx.root, env, timeout, log)
        files = [(log, "log"), (baseline_file, "profile"), *_ab_files(out)]
        comparison = _read_json(out / "comparison.json")
        cand_stats = _read_json(out / "candidate" / "stats.json")
        summary.update(mode="ab", baseline_url=against.gateway, exit_code=code,
                       comparison_verdict=comparison.get("verdict") if comparison else None,
                       candidate_slo=cand_stats.get("verdict") if cand_stats else None)
        verdict = _load_verdict(code, comparison, summary, files, log, "A/B against " + against.name)
        if verdict.state is GateState.PASSED and (cand_stats is None or cand_stats.get("verdict") != "PASSED"):
            detail = _slo_detail(cand_stats or {})
            return KindResult(GateState.FAILED if cand_stats else GateState.ERROR,
                              f"candidate SLO checks: {cand_stats.get('verdict') if cand_stats else 'no stats.json'}"
                              + detail, summary, files)
        return verdict
    out = workdir / "run"
    code = _run_tool(_cli("load", "run", "--target-file", str(workdir / "target.json"), "--out", str(out), *common),
                     ctx.root, env, timeout, log)
    files = [(log, "log"), *_load_files(out, "")]
    stats = _read_json(out / "stats.json")
    summary.update(mode="slo", exit_code=code, verdict=stats.get("verdict") if stats else None)
    if code is None or stats is None or code not in _LOAD_EXIT:
        return KindResult(GateState.ERROR, f"load run failed to produce a verdict: {_log_tail(log)}", summary, files)
    state = _LOAD_EXIT[code]
    if state is not GateState.PASSED or not baseline:
        return KindResult(state, f"SLO checks: {stats.get('verdict')}" + _slo_detail(stats), summary, files)
    evidence = _production_load_evidence(ctx, gate)
    if evidence is None:
        summary["baseline"] = "none"
        return KindResult(state, "SLO checks passed; no load evidence for the release in production, "
                                 "so no baseline comparison (SLO checks only)", summary, files)
    base_dir = workdir / "baseline"
    base_dir.mkdir()
    for path in evidence:
        for name in ("stats.json", "histograms.json"):
            if path.name.endswith(name):
                shutil.copyfile(path, base_dir / name)
    comparison_path = workdir / "comparison.json"
    code = _run_tool(_cli("load", "compare", str(base_dir), str(out), "--max-slowdown",
                          f"{baseline['max_slowdown']:g}", "--confidence", f"{baseline['confidence']:g}",
                          *_decide_flag(baseline), "--out", str(comparison_path)),
                     ctx.root, env, 600, workdir / "compare-output.txt")
    files += [(workdir / "compare-output.txt", "log")]
    comparison = _read_json(comparison_path)
    if comparison_path.is_file():
        files.append((comparison_path, "load"))
    summary.update(baseline="production evidence", comparison_verdict=comparison.get("verdict") if comparison else None)
    return _load_verdict(code, comparison, summary, files, workdir / "compare-output.txt", "baseline comparison")


def _decide_flag(baseline: Mapping[str, Any]) -> list[str]:
    """`--decide a,b` from the baseline's `decide` list (absent: the CLI's default; empty: '*', every procedure)."""
    if "decide" not in baseline:
        return []
    names = [str(n) for n in baseline["decide"] or []]
    return ["--decide", ",".join(names) if names else "*"]


def _ab_flags(baseline: Mapping[str, Any]) -> list[str]:
    """The A/B statistics options of `release load ab` from the baseline table (docs/load-statistics.md)."""
    flags = _decide_flag(baseline)
    for key, flag in (("max_tail_slowdown", "--max-tail-slowdown"), ("looks", "--looks"), ("window", "--window"),
                      ("legs", "--legs")):
        if baseline.get(key) is not None:
            flags += [flag, f"{float(baseline[key]):g}" if key in ("max_tail_slowdown", "window")
                      else str(int(baseline[key]))]
    return flags


def _slo_detail(stats: Mapping[str, Any]) -> str:
    doubts = stats.get("inconclusive")
    if stats.get("verdict") == "INCONCLUSIVE" and isinstance(doubts, list) and doubts:
        return "; " + str(doubts[0])  # which load generator was saturated (docs/load-distributed.md)
    slo: Mapping[str, Any] = stats["slo"] if isinstance(stats.get("slo"), Mapping) else {}
    failed = [c for c in slo.get("checks") or [] if isinstance(c, Mapping) and not c.get("ok", True)]
    if not failed:
        return ""
    return "; " + "; ".join(f"{c.get('procedure')} {c.get('metric')} {c.get('observed')} > {c.get('threshold')}"
                            for c in failed[:3])


def _load_verdict(code: int | None, comparison: Mapping[str, Any] | None, summary: dict[str, Any],
                  files: list[tuple[Path, str]], log: Path, what: str) -> KindResult:
    if code is None or code not in _LOAD_EXIT or comparison is None:
        return KindResult(GateState.ERROR, f"{what} did not produce a verdict (exit {code}): {_log_tail(log)}",
                          summary, files)
    if comparison.get("schema") not in COMPARISON_SCHEMAS:
        return KindResult(GateState.ERROR, f"{what}: comparison.json carries schema {comparison.get('schema')!r}; "
                                           f"this version reads {', '.join(COMPARISON_SCHEMAS)}", summary, files)
    state = _LOAD_EXIT[code]
    verdict = str(comparison.get("verdict", "")).upper()
    expected = {GateState.PASSED: "PASS", GateState.FAILED: "FAIL", GateState.INCONCLUSIVE: "INCONCLUSIVE"}[state]
    if not verdict.startswith(expected):
        return KindResult(GateState.ERROR, f"{what}: exit {code} disagrees with verdict {verdict or 'missing'}",
                          summary, files)
    if state is GateState.PASSED:
        return KindResult(state, f"{what}: no slowdown beyond the limit", summary, files)
    return KindResult(state, f"{what}: {_comparison_reason(comparison)}", summary, files)


def _migration(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord,
               workdir: Path) -> KindResult:
    done = drills.rehearse(ctx, gate, target, candidate, workdir)
    return KindResult(done.state, done.reason, done.summary, done.files)


def _restore_drill(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord,
                   workdir: Path) -> KindResult:
    done = drills.drill(ctx, gate, target, candidate, workdir)
    return KindResult(done.state, done.reason, done.summary, done.files)


KINDS: dict[GateKind, Callable[[Context, GateConfig, Target, CandidateRecord, Path], KindResult]] = {
    GateKind.COMMAND: _command,
    GateKind.PYTEST: _pytest,
    GateKind.BROWSER: _browser,
    GateKind.LOCUST: _locust,
    GateKind.MIGRATION: _migration,
    GateKind.RESTORE_DRILL: _restore_drill,
}

__all__ = ["GateOutcome", "candidate_version", "junit_totals", "require_gate_secrets", "run_automated_gates",
           "run_gate", "write_profile"]
