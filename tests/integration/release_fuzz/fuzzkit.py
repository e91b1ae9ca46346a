"""A real release repository for the fuzz tests, the in-process CLI run, and the TOML and argv strategies.

The repository is built once per module: `release init`'s own release.toml committed, v1.0.0 on production, a feat
and a fix on main, and candidate v1.1.0-rc.1 prepared (so the ledger has rows and status has something to show).
Each example runs in a fresh copy of it (a copied directory: git objects, refs and the SQLite ledger), so no example
sees another's effects and a shrunk failure replays exactly.

`release.cli.main.main` is called in-process (click's CliRunner isolation for the streams and the environment): the
same error boundary the console script has, at a fraction of a subprocess's cost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import strategies as st

from release.config import default_config_text
from tests.gitrepo import Commit, git_env, make_repo

PREPARER = "rm@example.org"
BOARD = "chair@example.org"
AUTHOR = "dev@example.org"
#: The env vars the init template's staging target names: set, so prepare gets past its secrets check.
TEMPLATE_SECRETS = {"CRVS_STAGING_CLIENT_SECRET": "fuzz-secret", "CRVS_STAGING_CLERK_PASSWORD": "fuzz-password",
                    "CRVS_STAGING_AGENT_PASSWORD": "fuzz-password", "CRVS_STAGING_REGISTRAR_PASSWORD": "fuzz-password"}
#: The init template's staging gateway, and the discard port it is moved to: nothing listens there, so a gate run
#: ends ERROR at once instead of reaching whatever a neighbouring test serves on 7070.
TEMPLATE_PORT, CLOSED_PORT = 7070, 9


def template_toml() -> str:
    """The release.toml `release init` writes, its staging gateway moved to a port nothing listens on."""
    text = default_config_text().replace(f"http://127.0.0.1:{TEMPLATE_PORT}", f"http://127.0.0.1:{CLOSED_PORT}")
    return text


@dataclass(frozen=True)
class Outcome:
    """One in-process CLI run: exit code, output, and the exception that escaped main() (None: none did)."""

    exit_code: int
    stdout: str
    stderr: str
    escaped: BaseException | None = None


@dataclass(frozen=True)
class State:
    """What must not change on refusal: every git ref and every ledger row."""

    refs: str
    ledger: tuple[tuple[str, tuple[tuple[object, ...], ...]], ...]


@dataclass
class FuzzRepo:
    """A copy of the module's release repository, and the environment its commands run in."""

    path: Path
    env: dict[str, str]

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, env=git_env(AUTHOR), capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def commit_config(self, data: bytes) -> None:
        """Replace release.toml with `data` and commit it (prepare refuses a dirty tree before it reads further)."""
        (self.path / "release.toml").write_bytes(data)
        self.git("add", "release.toml")
        self.git("commit", "--quiet", "--allow-empty", "-m", "chore: fuzzed release configuration")

    def state(self) -> State:
        refs = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        return State(refs, ledger_rows(self.path / ".release" / "ledger.db"))

    def run(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> Outcome:
        return run_main(args, cwd=self.path, env={**self.env, **(env or {})})


def ledger_rows(db_path: Path) -> tuple[tuple[str, tuple[tuple[object, ...], ...]], ...]:
    """Every row of every table, read-only (mode=ro: reading must not change what it reads)."""
    if not db_path.exists():
        return ()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
        return tuple((t, tuple(db.execute(f'select * from "{t}" order by rowid'))) for t in tables)
    except sqlite3.DatabaseError:  # not a database (a test broke it on purpose): compare its bytes instead
        return (("(bytes)", ((hashlib.sha256(db_path.read_bytes()).hexdigest(),),)),)
    finally:
        db.close()


def run_main(args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Outcome:
    """`release ARGS` through release.cli.main.main in this process, in `cwd`, with exactly `env` as os.environ."""
    from release.cli.main import main

    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides.update(env)
    runner = CliRunner()
    before = Path.cwd()
    escaped: BaseException | None = None
    code = 0
    with runner.isolation(env=overrides) as (out, err, _mixed):
        os.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:  # what escapes main() is the finding: keep it for the assertion
            escaped, code = exc, -1
        finally:
            os.chdir(before)
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return Outcome(code, stdout, stderr, escaped)


def build_template(base: Path) -> FuzzRepo:
    """The module's repository with candidate v1.1.0-rc.1 prepared (no deploy, no gates)."""
    files = {"release.toml": template_toml(), ".gitignore": "build/\n"}
    repo = make_repo(base / "crvs", [Commit("chore: initial import", files=files, author=AUTHOR),
                                     Commit("feat(search): search by registration number", author=AUTHOR),
                                     Commit("fix(registration): keep the informant's relationship", author=AUTHOR)],
                     tags={"v1.0.0": 0}, production_branch_at=0)
    home = base / "home"
    home.mkdir(exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    env = {**keep, **TEMPLATE_SECRETS, "HOME": str(home), "NO_COLOR": "1", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Release Manager", "GIT_AUTHOR_EMAIL": PREPARER,
           "GIT_COMMITTER_NAME": "Release Manager", "GIT_COMMITTER_EMAIL": PREPARER, "RELEASE_ACTOR": PREPARER}
    fuzz = FuzzRepo(repo.path, env)
    made = fuzz.run(["prepare", "--no-deploy", "--no-gates"])
    assert made.exit_code == 0 and made.escaped is None, (made.stdout, made.stderr, made.escaped)
    assert "v1.1.0-rc.1" in fuzz.git("tag", "--list")
    return fuzz


class FreshRepos:
    """Copies of the template repository; each new one replaces the last (a single example uses one)."""

    def __init__(self, template: FuzzRepo, where: Path) -> None:
        self.template, self.where, self.count = template, where, 0
        self.current: Path | None = None

    def __call__(self) -> FuzzRepo:
        self.clear()
        self.count += 1
        self.current = self.where / f"copy-{self.count}"
        shutil.copytree(self.template.path, self.current, symlinks=True)
        return FuzzRepo(self.current, dict(self.template.env))

    def clear(self) -> None:
        if self.current is not None:
            shutil.rmtree(self.current, ignore_errors=True)
            self.current = None


def assert_clean_outcome(outcome: Outcome, args: Sequence[str]) -> None:
    """No exception escaped main(), no traceback printed, and the exit code is one the CLI promises."""
    shown = f"release {' '.join(map(repr, args))}\nstdout: {outcome.stdout[-2000:]}\nstderr: {outcome.stderr[-2000:]}"
    assert outcome.escaped is None, f"{shown}\nescaped main(): {outcome.escaped!r}"
    assert "Traceback" not in outcome.stderr and "Traceback" not in outcome.stdout, shown
    assert outcome.exit_code in (0, 1, 2), f"exit {outcome.exit_code}\n{shown}"
    if outcome.exit_code == 2:
        assert outcome.stderr.strip(), f"exit 2 without a word on stderr\n{shown}"


# ------------------------------------------------------------------------------------------------ TOML documents


def toml_text(doc: Mapping[str, Any]) -> str:
    """`doc` as TOML: one `"key" = value` line per top-level key, tables inline (any nesting is valid TOML)."""
    return "".join(f"{_toml_key(k)} = {_toml(v)}\n" for k, v in doc.items())


def _toml_key(key: str) -> str:
    return _toml_string(key)


def _toml_string(text: str) -> str:
    # TOML basic strings: escape the quote, the backslash, control characters and DEL; everything else as is.
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"not a TOML value: {value!r}")


#: Text that is not plain: placeholders with conversions and format specs, braces, ref-breaking characters.
HOSTILE_TEXT = ["{version!x}", "{version!r}", "{version:>999999999}", "{version:x}", "{version[0]}",
                "{version.__class__}", "{0}", "{}", "{", "}", "{{", "}}", "{unknown}", "{{ 7*7 }}", "{% for %}",
                "${version}", "%s", "%(version)s", "v{version}", "v{version}.lock", "{version}/", "-{version}",
                "v{version}{version}", "refs/heads/{version}", "v{version}@{", "rel ease/{version}", "..{version}",
                "\u202e{version}", "{version}\n::error::x", "\x00", "\ud7ff", "\U0001f600", "Ä{commit}Ω",
                "x" * 70_000, "{commit}" * 3000, "{previous_version}" * 5000]
#: Texts the loader accepts, some of which are still refused when prepare renders them (over 64 KiB).
PLAIN_TEXT = ["Risk of {version}", "{commit} {tag} {previous_version}", "{{literal}} {version}", "Ä Ω 🚀 {tag}",
              "<script>alert(1)</script> {version}", "line one\n::notice::two {tag}", "x" * 60_000,
              "{commit}" * 2000, "{version}" * 20_000]
#: Branch and tag formats: fine ones, and ones git refuses only once the version is in (checked before any write).
REF_FORMATS = ["v{version}", "release/v{version}", "rel-{version}", "crvs/{version}/rc", "🚀{version}",
               "v{version}.lock", "{version}/", "a//{version}", "v{version}.", "-{version}", ".{version}",
               "v{version}@{x", "HEAD{version}", "v {version}", "v{version}\n", "refs/tags/v{version}", "@"]
#: Keys a release.toml has, so that random tables sometimes hit the real ones.
KNOWN_KEYS = ["release", "targets", "gates", "roles", "report", "variables", "signatures", "kind", "role", "quorum",
              "gateway", "identity", "deploy", "promote", "branch", "tag", "production_branch", "remote", "risk",
              "impact", "items", "id", "text", "verify", "slo", "baseline", "users", "username", "password_env",
              "client_id", "client_secret_env", "markers", "run", "junit", "timeout", "duration", "against",
              "staging", "production", "qa-lead", "change-board", "env", "default", "version_timeout_s"]

_CHARS = st.characters(exclude_categories=["Cs"])  # TOML (UTF-8) cannot hold a lone surrogate


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Strings: hostile ones, plain ones, known key names, or random unicode."""
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.sampled_from(PLAIN_TEXT), st.sampled_from(KNOWN_KEYS),
                     st.text(_CHARS, max_size=max_size))


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(texts(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                     st.sampled_from([0, -1, 1, 2**31, 10**12]), st.floats(allow_nan=True, allow_infinity=True),
                     st.dates(), st.datetimes(timezones=st.sampled_from([None, dt.UTC])), st.times())


def toml_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any TOML value: scalars, arrays and tables nested a few levels, with keys often the real ones."""
    keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(_CHARS, max_size=12))
    return st.recursive(scalars(), lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(keys, inner, max_size=4)),
                        max_leaves=max_leaves)


def random_documents() -> st.SearchStrategy[str]:
    """A whole release.toml of random tables (mostly invalid as a config, always valid TOML)."""
    keys = st.one_of(st.sampled_from(KNOWN_KEYS[:7]), st.text(_CHARS, max_size=12))
    return st.dictionaries(keys, toml_values(), max_size=6).map(toml_text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed document (dict keys and list indexes), parents before children."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_templates(draw: st.DrawFn) -> str:
    """The init template's release.toml, parsed, with a few random edits, written back as TOML.

    Edits: delete a key, swap a value for one of another type, set a text to a hostile one (format specs,
    conversions, huge, ref-breaking), add an unknown key, or nest a value dozens of levels deep.
    """
    doc = tomllib.loads(template_toml())
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        edit = draw(st.sampled_from(["delete", "swap", "hostile", "add", "nest"]))
        if edit == "delete":
            del parent[key]
        elif edit == "swap":
            parent[key] = draw(toml_values(max_leaves=4))
        elif edit == "hostile":
            parent[key] = draw(st.sampled_from(HOSTILE_TEXT))
        elif edit == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(_CHARS, max_size=10)))] = draw(scalars())
        elif edit == "nest":
            value: Any = parent[key]
            for _level in range(draw(st.sampled_from([2, 10, 40, 90]))):  # within what the serialiser recurses
                value = [value] if draw(st.booleans()) else {"a": value}
            parent[key] = value
    report_text = st.one_of(st.sampled_from(PLAIN_TEXT), texts())
    report = draw(st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "risk": report_text, "impact": report_text, "implementation_plan": report_text,
        "backout_plan": report_text})))
    if report is not None:
        doc["report"] = report
    release = doc.get("release")
    if isinstance(release, dict) and draw(st.booleans()):
        release[draw(st.sampled_from(["branch", "tag"]))] = draw(st.one_of(st.sampled_from(REF_FORMATS), texts()))
    return toml_text(doc)


@st.composite
def plain_templates(draw: st.DrawFn) -> str:
    """The init template with texts the loader accepts: [report] texts (some render past 64 KiB) and ref formats
    (some git refuses once the version is in). These get past the loader, so prepare's own checks must hold."""
    doc = tomllib.loads(template_toml())
    plain = st.sampled_from(PLAIN_TEXT)
    doc["report"] = draw(st.fixed_dictionaries({}, optional={"risk": plain, "impact": plain,
                                                             "implementation_plan": plain, "backout_plan": plain}))
    for key in draw(st.lists(st.sampled_from(["branch", "tag"]), unique=True)):
        doc["release"][key] = draw(st.sampled_from(REF_FORMATS))
    return toml_text(doc)


@st.composite
def mangled_bytes(draw: st.DrawFn) -> bytes:
    """The template's own text with byte-level damage: cut, spliced, non-UTF-8, or wrapped in deep nesting."""
    data = template_toml().encode("utf-8")
    kind = draw(st.sampled_from(["cut", "insert", "flip", "deep", "bom", "dup"]))
    at = draw(st.integers(min_value=0, max_value=len(data)))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if kind == "flip" and at < len(data):
        return data[:at] + bytes([data[at] ^ draw(st.integers(min_value=1, max_value=255))]) + data[at + 1:]
    if kind == "deep":
        depth = draw(st.sampled_from([50, 200, 500, 1000, 5000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{ a = ", " }")]))
        inner = opener * depth + "1" + closer * depth if opener != "[" else opener * depth + closer * depth
        section = draw(st.sampled_from(['[gates.deep]\nkind = "pytest"\nargs = ', "[report]\nrisk = ", "x = "]))
        return data + f"\n{section}{inner}\n".encode()
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    line_start = data.rfind(b"\n", 0, at) + 1
    line_end = data.find(b"\n", at)
    line = data[line_start:line_end if line_end >= 0 else len(data)]
    return data + b"\n" + line + b"\n"  # a key or a table defined twice
