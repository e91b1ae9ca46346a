"""`release load run|compare|ab`: the load gate from the command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from release.errors import InputError, UsageError

EXIT_BY_RUN_VERDICT = {"PASSED": 0, "FAILED": 1, "ERROR": 2, "INCONCLUSIVE": 3}
EXIT_BY_COMPARISON = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}
#: `load ab`'s default length (release.config_models.AB_DEFAULT_DURATION_S, as an A/B gate's).
AB_DURATION = "120s"


def _json_flag(f: Any) -> Any:
    f = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     help="Output format.")(f)
    return click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(f)


def _run_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--users", type=int, default=20, show_default=True, help="Concurrent users."),
        click.option("--spawn-rate", type=float, default=10.0, show_default=True, help="Users started per second."),
        click.option("--duration", default=None,
                     help="How long to run (30s, 2m; default 60s, and 120s for `load ab`, which stops once decided)."),
        click.option("--workers", type=int, default=1, show_default=True,
                     help="Local Locust workers under one master (Locust's distributed mode on loopback)."),
        click.option("--slo", "slo_file", type=click.Path(path_type=Path), default=None,
                     help="SLO thresholds (TOML or JSON); default: OpenCRVS performance-test limits."),
        click.option("--shape", type=click.Choice(["steady", "ramp", "spike"]), default="steady",
                     show_default=True),
        click.option("--max-requests", type=int, default=None,
                     help="Stop after this many requests (default 1,000,000)."),
        click.option("--seed", type=int, default=1, show_default=True, help="Seed of every user's random stream."),
        click.option("--weights", default=None,
                     help="Persona weights, e.g. registrar=50,searcher=30,reader=20."),
        click.option("--wait", default="0.1,0.5", show_default=True, help="Seconds between a user's tasks: MIN,MAX."),
        click.option("--allow-non-loopback", is_flag=True, help="Allow a target that is not 127.0.0.0/8, ::1 or localhost."),
    ]):
        f = opt(f)
    return f


def _options(target_file: Path, out: Path, kw: dict[str, Any], env: dict[str, str] | None = None,
             default_duration: str = "60s") -> Any:
    from load import personas
    from load.errors import LoadInputError
    from load.runner import DEFAULT_MAX_REQUESTS, RunOptions, parse_duration, parse_wait
    from load.slo import SloError, load_slo_file

    try:
        slo = load_slo_file(kw["slo_file"]) if kw["slo_file"] else None
        weights = personas.parse_weights(kw["weights"])
        return RunOptions(target_file=target_file, out=out, users=kw["users"], spawn_rate=kw["spawn_rate"],
                          duration_s=parse_duration(kw["duration"] or default_duration), workers=kw["workers"],
                          shape=kw["shape"],
                          **_master_options(kw),
                          seed=kw["seed"], max_requests=kw["max_requests"] or DEFAULT_MAX_REQUESTS,
                          weights=weights, wait=parse_wait(kw["wait"]), slo=slo,
                          allow_non_loopback=kw["allow_non_loopback"], env=dict(env or {}))
    except (SloError, LoadInputError) as exc:
        raise InputError(str(exc)) from exc
    except ValueError as exc:
        raise InputError(f"--weights: {exc}") from exc


def _master_options(kw: dict[str, Any]) -> dict[str, Any]:
    """The RunOptions of a master that remote workers join (only `load run` has these options)."""
    if "master" not in kw:
        return {}
    return {"master": kw["master"], "expect_workers": kw["expect_workers"] or 0, "master_bind": kw["master_bind"],
            "master_port": kw["master_port"] or 0, "worker_wait_s": kw["worker_wait"]}


def _master_flags(f: Any) -> Any:
    for opt in reversed([
        click.option("--master", is_flag=True,
                     help="Be a Locust master only: remote workers join it (`release load worker`)."),
        click.option("--expect-workers", type=int, default=None, help="With --master: start when N workers joined."),
        click.option("--master-bind", default="127.0.0.1", show_default=True,
                     help="Address of the master's worker channel (non-loopback needs --allow-non-loopback)."),
        click.option("--master-port", type=int, default=None, help="Port of the worker channel (default 5557 with "
                                                                     "--master, else a free one)."),
        click.option("--worker-wait", type=float, default=60.0, show_default=True,
                     help="Seconds to wait for the workers to join before the run is ERROR."),
    ]):
        f = opt(f)
    return f


class _Progress:
    """Live request rate, errors and p95: a rich line on a TTY, a plain line every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.live: Any = None
        self.state: dict[str, dict[str, Any]] = {}

    def _line(self, label: str, p: dict[str, Any]) -> str:
        prefix = f"{label}: " if label else ""
        return (f"{prefix}{p.get('elapsed_s', 0):>5.0f}s users={p.get('users', 0)} req={p.get('requests', 0)} "
                f"rps={p.get('rps', 0):.1f} errors={p.get('failures', 0)} p95={p.get('p95_ms', 0):.0f}ms")

    def __call__(self, p: dict[str, Any], label: str = "") -> None:
        self.state[label] = p
        if self.tty:
            if self.live is None:
                from rich.live import Live

                self.live = Live("", refresh_per_second=4, transient=True, console=_console(err=True))
                self.live.start()
            self.live.update("\n".join(self._line(k, v) for k, v in self.state.items()))
        elif time.monotonic() - self.last >= 5:
            self.last = time.monotonic()
            click.echo(self._line(label, p), err=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def _console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True)


def _print_run(doc: dict[str, Any], label: str = "") -> None:
    from rich.table import Table

    table = Table(title=f"{label} {doc['target']['url']} (X-Version {doc['target'].get('version') or '?'})".strip())
    for col in ("procedure", "count", "fail", "p50", "p95", "p99", "max", "rps"):
        table.add_column(col, justify="left" if col == "procedure" else "right")
    for name, s in doc["procedures"].items():
        table.add_row(name, str(s["count"]), str(s["failures"]), f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}",
                      f"{s['p99_ms']:.1f}", f"{s['max_ms']:.1f}", f"{s['rps']:.1f}")
    console = _console()
    console.print(table)
    for line in doc["errors"]:
        console.print(f"- {line}")
    console.print(f"verdict: {doc['verdict']}")


def _print_comparison(comparison: Any) -> None:
    from rich.table import Table

    from load.results import comparison_table

    pol = comparison.policy
    table = Table(title=f"candidate / baseline, budget {pol.max_slowdown:.0%} slower, "
                        f"{pol.confidence:.0%} confidence, min {pol.min_samples} samples")
    for col in ("procedure", "n base", "n cand", "median base ms", "median cand ms", "ratio", "CI", "verdict"):
        table.add_column(col, justify="left" if col in ("procedure", "verdict") else "right")
    for row in comparison_table(comparison):
        table.add_row(*row)
    console = _console()
    console.print(table)
    for name, p in comparison.procedures.items():
        if p.verdict != "PASS":
            console.print(f"- {name}: {p.verdict}{'' if p.decides else ' (reported only)'}: {p.reason}")
    console.print(f"verdict: {comparison.verdict} ({comparison.reason})")


@click.group("load")
def command() -> None:
    """Run, compare and A/B the load gate."""
    from release.extras import require_extra

    require_extra("load")  # exit 2 naming pip install 'crvs-release[load]' before anything runs


_TARGET_FILE_HELP = "Deployment profile JSON of the target (docs/wire-contract.md section 2); default $CRVS_TARGET_FILE."


def _target_file(given: Path | None) -> Path | None:
    import os

    from crvs_client import TARGET_FILE_ENV

    if given is not None:
        return given
    env = os.environ.get(TARGET_FILE_ENV)
    return Path(env) if env else None


def _sandbox_profile(stack: Any, out: Path) -> tuple[Path, dict[str, str]]:
    """Start a throwaway sandbox and write its profile to OUT/target.json; returns it and its secrets."""
    from crvs_client.deployment import write_profile
    from sandbox.process import SandboxProcess

    sandbox = stack.enter_context(SandboxProcess())
    return write_profile(sandbox.profile(), out / "target.json"), sandbox.profile_env()


@command.command("run")
@click.option("--target-file", type=click.Path(dir_okay=False, path_type=Path), help=_TARGET_FILE_HELP)
@click.option("--sandbox", is_flag=True, help="Load a throwaway reference sandbox started for this run.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory for the results.")
@_run_options
@_master_flags
@_json_flag
@click.pass_context
def run_cmd(ctx: click.Context, target_file: Path | None, sandbox: bool, out: Path, fmt: str, as_json: bool,
            **kw: Any) -> None:
    """Run the scenarios against the deployment and check the SLOs (exit 0 passed, 1 failed, 2 error, 3 inconclusive:
    a starved load generator)."""
    from contextlib import ExitStack

    from load.errors import LoadInputError
    from load.runner import run_load

    target_file = None if sandbox and target_file is None else _target_file(target_file)
    if bool(target_file) == sandbox:
        raise UsageError("give exactly one of --target-file PATH (or $CRVS_TARGET_FILE) or --sandbox")
    if sandbox:
        from release.extras import require_extra

        require_extra("sandbox")
    progress = _Progress()
    with ExitStack() as stack:
        env: dict[str, str] = {}
        if sandbox:
            target_file, env = _sandbox_profile(stack, out)
        assert target_file is not None
        opts = _options(target_file, out, kw, env)
        try:
            doc = run_load(opts, progress)
        except LoadInputError as exc:
            raise InputError(str(exc)) from exc
        finally:
            progress.close()
    if fmt == "json" or as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _print_run(doc)
    ctx.exit(EXIT_BY_RUN_VERDICT[doc["verdict"]])


@command.command("worker")
@click.option("--master-host", required=True, help="Address of the master (`release load run --master`).")
@click.option("--master-port", type=int, default=5557, show_default=True, help="Port of the master's worker channel.")
@click.option("--target-file", type=click.Path(dir_okay=False, path_type=Path), help=_TARGET_FILE_HELP)
@click.option("--seed", type=int, default=1, show_default=True, help="As the master's --seed.")
@click.option("--weights", default=None, help="As the master's --weights.")
@click.option("--wait", default="0.1,0.5", show_default=True, help="As the master's --wait.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where this worker keeps its own request count (OUT/parts/worker-*.json).")
@click.option("--allow-non-loopback", is_flag=True, help="Allow a target or master that is not on loopback.")
@click.option("--json", "as_json", is_flag=True,
              help="First print one JSON line: the pid and the master this worker joins (no secrets).")
def worker_cmd(master_host: str, master_port: int, target_file: Path | None, seed: int, weights: str | None,
               wait: str, out: Path | None, allow_non_loopback: bool, as_json: bool) -> None:
    """Join a load run's master from this host as one Locust worker (this process becomes the worker)."""
    import os

    from load.errors import LoadInputError
    from load.runner import worker_exec

    target_file = _target_file(target_file)
    if target_file is None:
        raise UsageError("give --target-file PATH (or $CRVS_TARGET_FILE)")
    try:
        argv, env = worker_exec(target_file, master_host, master_port, seed=seed, weights=weights, wait=wait,
                                out=out, allow_non_loopback=allow_non_loopback)
    except LoadInputError as exc:
        raise InputError(str(exc)) from exc
    if as_json:  # the pid stays the worker's: exec keeps it
        click.echo(json.dumps({"worker_pid": os.getpid(), "master": f"{master_host}:{master_port}"}), nl=True)
        sys.stdout.flush()
    os.execvpe(argv[0], argv, env)  # the pid the operator (or a test) sees is the worker's own


def _write_comparison(comparison: Any, path: Path | None) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(comparison.to_json(), indent=2) + "\n", encoding="utf-8")


def _policy(max_slowdown: float, confidence: float, min_samples: int, decide: str | None = None,
            **ab: Any) -> Any:
    from load.compare import DEFAULT_DECIDE, Policy

    names = DEFAULT_DECIDE if decide is None else tuple(n.strip() for n in decide.split(",") if n.strip())
    if decide is not None and decide.strip() == "*":
        names = ()
    return Policy(max_slowdown=max_slowdown, confidence=confidence, min_samples=min_samples, decide=names, **ab)


def _comparison_options(f: Any) -> Any:
    f = click.option("--max-slowdown", type=float, default=0.10, show_default=True,
                     help="Allowed slowdown of the median as ratio - 1 (0.10 = 10 % slower).")(f)
    f = click.option("--confidence", type=float, default=0.95, show_default=True)(f)
    f = click.option("--decide", default=None, metavar="PROC,PROC",
                     help="Procedures whose verdict blocks (default: the registration path and event.search; "
                          "'*': every procedure); the others are reported only.")(f)
    return click.option("--min-samples", type=int, default=200, show_default=True,
                        help="Fewer samples on either side: INCONCLUSIVE.")(f)


def _ab_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--max-tail-slowdown", type=float, default=None,
                     help="Allowed slowdown of the p95 as ratio - 1 (default 0.25, or --max-slowdown if larger)."),
        click.option("--window", "window_s", type=float, default=None,
                     help="Seconds per paired window (default: duration / 20, 1 to 5 s; docs/load-statistics.md)."),
        click.option("--min-windows", type=int, default=6, show_default=True,
                     help="Fewer paired windows: INCONCLUSIVE."),
        click.option("--looks", type=int, default=4, show_default=True,
                     help="Equally spaced looks; the run stops at the first decisive one (1: no early stop)."),
        click.option("--legs", type=int, default=2, show_default=True,
                     help="Parts of the run, each starting the two sides in the opposite order."),
    ]):
        f = opt(f)
    return f


def _check_policy(policy: Any) -> None:
    """One-line errors for A/B policy values the statistics cannot use."""
    if not 0 <= policy.max_tail_slowdown < 10:
        raise InputError("--max-tail-slowdown: expected a fraction such as 0.25 (25 % slower)")
    if policy.min_windows < 2 or policy.looks < 1:
        raise InputError("--min-windows: expected at least 2; --looks: at least 1")


@command.command("compare")
@click.argument("baseline_dir", type=click.Path(path_type=Path))
@click.argument("candidate_dir", type=click.Path(path_type=Path))
@_comparison_options
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None, help="Write comparison JSON here.")
@_json_flag
@click.pass_context
def compare_cmd(ctx: click.Context, baseline_dir: Path, candidate_dir: Path, max_slowdown: float,
                confidence: float, min_samples: int, decide: str | None, out_file: Path | None, fmt: str,
                as_json: bool) -> None:
    """Compare two runs (exit 0 pass, 1 fail, 3 inconclusive, 2 bad input)."""
    from load.errors import LoadInputError
    from load.results import compare_runs

    try:
        comparison = compare_runs(baseline_dir, candidate_dir,
                                  _policy(max_slowdown, confidence, min_samples, decide))
    except LoadInputError as exc:
        raise InputError(str(exc)) from exc
    _write_comparison(comparison, out_file)
    if fmt == "json" or as_json:
        click.echo(json.dumps(comparison.to_json(), indent=2))
    else:
        _print_comparison(comparison)
    ctx.exit(EXIT_BY_COMPARISON[comparison.verdict])


@command.command("ab")
@click.option("--baseline-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Deployment profile JSON of the baseline (e.g. production).")
@click.option("--candidate-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Deployment profile JSON of the candidate (e.g. staging).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory for both runs.")
@_run_options
@_comparison_options
@_ab_options
@_json_flag
@click.pass_context
def ab_cmd(ctx: click.Context, baseline_file: Path, candidate_file: Path, out: Path, max_slowdown: float,
           confidence: float, min_samples: int, decide: str | None, max_tail_slowdown: float | None,
           window_s: float | None, min_windows: int, looks: int, legs: int, fmt: str, as_json: bool,
           **kw: Any) -> None:
    """Load both targets in the same windows with the same scenario, compare paired windows, stop once decided
    (exit codes as compare)."""
    from load.compare import Policy, with_doubt
    from load.errors import LoadInputError
    from load.runner import auto_window, run_ab_sequential

    base_opts = _options(baseline_file, out / "baseline", kw, default_duration=AB_DURATION)
    cand_opts = _options(candidate_file, out / "candidate", kw, default_duration=AB_DURATION)
    tail = Policy.tail_default(max_slowdown) if max_tail_slowdown is None else max_tail_slowdown
    policy = _policy(max_slowdown, confidence, min_samples, decide, max_tail_slowdown=tail,
                     window_s=window_s or auto_window(base_opts.duration_s), min_windows=min_windows, looks=looks)
    _check_policy(policy)
    progress = _Progress()
    try:
        result = run_ab_sequential(base_opts, cand_opts, policy, lambda label, p: progress(p, label), legs=legs)
    except LoadInputError as exc:
        raise InputError(str(exc)) from exc
    finally:
        progress.close()
    base_doc, cand_doc = result.baseline, result.candidate
    errored = [label for label, d in (("baseline", base_doc), ("candidate", cand_doc)) if d["verdict"] == "ERROR"]
    if errored:
        docs = {"baseline": base_doc, "candidate": cand_doc}
        reasons = "; ".join(f"{label}: {(docs[label]['errors'] or ['ERROR'])[0]}" for label in errored)
        raise InputError(f"A/B run could not complete ({reasons})")
    doubts = [f"{label}: {r}" for label, d in (("baseline", base_doc), ("candidate", cand_doc))
              if d["verdict"] == "INCONCLUSIVE" for r in d.get("inconclusive") or ["INCONCLUSIVE"]]
    comparison = with_doubt(result.comparison, doubts)
    _write_comparison(comparison, out / "comparison.json")
    if fmt == "json" or as_json:
        click.echo(json.dumps({"baseline": base_doc, "candidate": cand_doc, "comparison": comparison.to_json()},
                              indent=2))
    else:
        _print_run(base_doc, "baseline")
        _print_run(cand_doc, "candidate")
        _print_comparison(comparison)
    ctx.exit(EXIT_BY_COMPARISON[comparison.verdict])


@command.command("show")
@click.argument("comparison_file", type=click.Path(dir_okay=False, path_type=Path))
@_json_flag
@click.pass_context
def show_cmd(ctx: click.Context, comparison_file: Path, fmt: str, as_json: bool) -> None:
    """Read a comparison.json this or an earlier version wrote (exit as compare; 2 naming an unknown schema)."""
    from load.compare import read_comparison

    try:
        doc = read_comparison(json.loads(comparison_file.read_text(encoding="utf-8")), str(comparison_file))
    except OSError as exc:
        raise InputError(f"{comparison_file}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if fmt == "json" or as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        from release.safe_text import one_line

        for name, p in doc["procedures"].items():
            if isinstance(p, dict):
                click.echo(one_line(f"{name}: {p.get('verdict')}: {p.get('reason')}", limit=1000))
        click.echo(one_line(f"verdict: {doc['verdict']} ({doc.get('reason')})", limit=1000))
    ctx.exit(EXIT_BY_COMPARISON[doc["verdict"]])
