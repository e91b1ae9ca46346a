"""Fuzzed command lines against a real prepared repository: no traceback, and a refusal changes nothing.

Each example builds a command line for one of the main commands (version, prepare, status, approve, waive,
sign-off, accept, gate run, report, audit verify), or a random one, from values that are close to right (the
real version, gate names and candidate tag), plainly wrong, or random unicode (lone surrogates included: a
non-UTF-8 byte in argv arrives as one), with options in random order. Properties:

* main() raises nothing (only SystemExit), prints no traceback, and exits 0, 1 or 2; exit 2 says why on stderr;
* the read-only commands (version, status, report, prepare --dry-run, audit verify) never change a git ref or a
  ledger row, whatever their exit code;
* the writing ones change nothing unless they succeed (exit 0), or, for `gate run`, record the run they made
  (exit 1 with a FAILED or ERROR run).

Derandomized and counted: this module runs 300 examples, each in a fresh copy of the repository.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.integration.release_fuzz.fuzzkit import BOARD, PREPARER, FreshRepos, assert_clean_outcome

pytestmark = pytest.mark.integration

EXAMPLES = 300

#: Random text as argv can hold it: any code point but NUL, and surrogate escapes (os.fsdecode of a non-UTF-8 byte).
_ARG = st.one_of(st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=24),
                 st.sampled_from(["\udcff", "caf\udce9", "\udc80\udc80"]))
VERSIONS = ["1.1.0", "1.0.0", "1.2.0", "2.0.0", "0.9.0", "1.1.0-rc.1", "v1.1.0", "9.9.9", "1.x", "", " ", "-1",
            "1.1", "\uff11.\uff11.\uff10", "1.1.0\n::notice::x", "1.1.0; rm -rf /", "99999999999999999999.0.0",
            "1.1.0+build.7", "1.1.0-rc.99", "--help", "0.0.0", "1.1.0\x00"]
GATES = ["regression", "browser", "load", "qa", "change-board", "acceptance", "nope", "", "REGRESSION", "../x",
         "change_board", "qa\n::error::x"]
TAGS = ["v1.1.0-rc.1", "v1.1.0-rc.2", "v1.0.0", "bogus", "v1.1.0-rc.0", "1.1.0-rc.1", "v9.9.9-rc.1", "",
        "v1.1.0-rc.1\n", "v1.1.0-rc.-1", "v1.1.0-rc.99999999999999999999"]
EMAILS = [BOARD, "ops@example.org", PREPARER, "dev@example.org", "", "not-an-email", f"{BOARD}\n::notice::x",
          "<script>@x.org", "registrar-general@example.org", "qa@example.org"]
DATES = ["2999-12-31", "2000-01-01", "yesterday", "", "2024-02-30", "9999-99-99", "2026-01-01T00:00:00Z", "1e9",
         "0", "9999-12-31", "2999-12-31T25:00"]
FORMATS = ["text", "json", "github", "gitlab", "junit", "md", "html", "xml", ""]
REPORT_FORMATS = ["html", "md", "xml", "", "HTML"]  # pdf left out: WeasyPrint's seconds per example add nothing
COMMENTS = ["ok", "", "line\n::notice::injected", "%0A::error::x", "<script>alert(1)</script>", "[x](javascript:1)",
            "x" * 5000]
CRITERIA = ["AC-1", "AC-2", "AC-9", "", "ac-1"]
PATHS = ["out/report.html", "release.toml", ".release", "missing/dir/r.md", "/", ".", "-"]
BUMPS = ["auto", "major", "minor", "patch", "huge", ""]

#: Commands that must never change a ref or a ledger row.
READ_ONLY = {"version", "status", "report", "audit"}


def pick(values: list[str], right: str | None = None) -> st.SearchStrategy[str]:
    """The right value (a third of the time, when there is one), a value from the list, or random text."""
    choices = [st.sampled_from(values), _ARG]
    return st.one_of(st.just(right), *choices) if right is not None else st.one_of(st.sampled_from(values), *choices)


def opt(name: str, values: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[list[str]]:
    return st.just([name]) if values is None else values.map(lambda v: [name, v])


def shapes() -> dict[str, tuple[list[st.SearchStrategy[str]], list[st.SearchStrategy[list[str]]], int]]:
    """Each command: its positionals, its options, and how many of those options it needs (listed first)."""
    version = pick(VERSIONS, "1.1.0")
    board = opt("--as", pick(EMAILS, BOARD))
    return {
        "version": ([], [opt("--bump", pick(BUMPS)), opt("--version", pick(VERSIONS, "1.2.0")), opt("--json"),
                         opt("--config", pick(PATHS, "release.toml"))], 0),
        "prepare --dry-run": ([], [opt("--version", pick(VERSIONS, "1.2.0")), opt("--bump", pick(BUMPS)),
                                   opt("--no-deploy"), opt("--no-gates"), opt("--json"),
                                   opt("--as", pick(EMAILS, PREPARER))], 0),
        "prepare --no-deploy --no-gates": ([], [opt("--version", pick(VERSIONS, "1.2.0")), opt("--bump", pick(BUMPS)),
                                                opt("--as", pick(EMAILS, PREPARER)), opt("--json")], 0),
        "status": ([version], [opt("--json"), opt("--format", pick(FORMATS, "github"))], 0),
        "approve": ([version], [opt("--gate", pick(GATES, "change-board")), opt("--reject"),
                               opt("--comment", pick(COMMENTS)), board, opt("--json")], 0),
        "waive": ([pick(GATES, "load"), version], [opt("--reason", pick(COMMENTS, "no load rig this week")),
                                                   opt("--expires", pick(DATES, "2999-12-31")), board,
                                                   opt("--json")], 2),
        "sign-off": ([pick(GATES, "qa"), version], [opt("--comment", pick(COMMENTS)),
                                                    opt("--as", pick(EMAILS, "qa@example.org")), opt("--json")], 0),
        "accept": ([version, pick(CRITERIA, "AC-2")], [opt("--comment", pick(COMMENTS)),
                                                       opt("--gate", pick(GATES, "acceptance")), board,
                                                       opt("--json")], 0),
        "gate run": ([pick(GATES, "regression")], [opt("--candidate", pick(TAGS, "v1.1.0-rc.1")), board,
                                                   opt("--json"), opt("--format", pick(FORMATS))], 0),
        "report": ([version], [opt("--format", pick(REPORT_FORMATS, "md")), opt("--out", pick(PATHS)),
                              opt("--json")], 0),
        "audit verify": ([], [opt("--json")], 0),
    }


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """One command line: a command, its arguments, its required options and some others, in random order."""
    table = shapes()
    name = draw(st.sampled_from([*table, "random"]))
    if name == "random":
        args = draw(st.lists(st.one_of(_ARG, st.sampled_from([*table, "--json", "--help", "--as", "gate"])),
                             min_size=1, max_size=6))
    else:
        positional, options, required = table[name]
        args = name.split()
        # Mostly the right number of positionals; sometimes one short or one extra, which click must refuse.
        count = draw(st.sampled_from([len(positional)] * 4 + [max(0, len(positional) - 1), len(positional) + 1]))
        args += [draw(p) for p in positional[:count]] + [draw(_ARG) for _ in range(count - len(positional))]
        always = [] if draw(st.integers(min_value=0, max_value=5)) == 0 else list(range(required))
        chosen = always + draw(st.lists(st.sampled_from(range(required, len(options))), unique=True,
                                        max_size=len(options) - required))
        parts = [draw(options[i]) for i in chosen]
        for part in draw(st.permutations(parts)) if parts else []:
            args += part
    # -v/--verbose asks for tracebacks on purpose: the one way main() is meant to re-raise.
    assume("-v" not in args and "--verbose" not in args)
    return args


def may_write(args: list[str], exit_code: int) -> bool:
    """True when this command line may have changed refs or ledger rows (it succeeded, or it ran a gate)."""
    if args[0] in READ_ONLY or "--dry-run" in args or args[0] not in ("prepare", "approve", "waive", "sign-off",
                                                                        "accept", "gate"):
        return False
    return exit_code == 0 or (args[:2] == ["gate", "run"] and exit_code == 1)


def test_fuzzed_command_lines_never_crash_and_refusals_change_nothing(fresh_repos: FreshRepos):
    seen: list[list[str]] = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(args=command_lines())
    def fuzz(args: list[str]) -> None:
        seen.append(args)
        repo = fresh_repos()
        before = repo.state()
        outcome = repo.run(args)
        assert_clean_outcome(outcome, args)
        if not may_write(args, outcome.exit_code):
            assert repo.state() == before, (f"release {args!r} exited {outcome.exit_code} and changed refs or "
                                            f"ledger rows\nstderr: {outcome.stderr[-1500:]}")

    fuzz()
    assert len(seen) >= EXAMPLES
