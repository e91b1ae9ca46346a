"""`release prepare` checks what can fail before its first git or ledger write, and undoes its refs if a write fails.

Through the console entry point (a subprocess, as a user runs it), in a real repository with candidate v1.1.0-rc.1
prepared. The issue's cases: `risk = "{version!x}"` used to create the rc tag, the branch and the ledger row and
then crash; a report text that renders past its bound; 500 levels of nesting; an unwritable `.release/runs` that
left a gate RUNNING for ever. Then refs git refuses only once the version is in, an rc number the ledger already
gave another commit, and a ledger that refuses the write after the tag and branch exist: the database itself
refuses (a SQLite trigger that aborts the INSERT, as a constraint would), and prepare must delete what it made.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, CliResult
from tests.integration.release_fuzz.fuzzkit import FuzzRepo, build_template, template_toml

pytestmark = pytest.mark.integration

PREPARE = ("prepare", "--no-deploy", "--no-gates")


def cli(repo: FuzzRepo, *args: str, env: dict[str, str] | None = None) -> CliResult:
    full = {**repo.env, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "release.cli.main", *args], cwd=repo.path, env=full,
                          capture_output=True, text=True, timeout=300, check=False)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def refused(result: CliResult, *needles: str) -> str:
    """The one `error:` line of an exit-2 refusal (progress lines may come before it), checked for `needles`."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> FuzzRepo:
    return build_template(tmp_path_factory.mktemp("prepare-checks"))


@pytest.fixture
def repo(template: FuzzRepo, tmp_path: Path) -> FuzzRepo:
    """A fresh copy of the prepared repository (candidate v1.1.0-rc.1)."""
    copy = FuzzRepo(tmp_path / "crvs", dict(template.env))
    shutil.copytree(template.path, copy.path, symlinks=True)
    return copy


def with_report(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return template_toml().replace("[release]", f'[report]\nrisk = "{escaped}"\n\n[release]', 1).encode()


@pytest.mark.parametrize(("config", "needles"), [
    (with_report("{version!x}"), ("report.risk", "placeholder")),
    (with_report("{version:>999999999}"), ("report.risk", "placeholder")),
    (with_report("{commit}" * 2000), ("report.risk", "at most 64 KiB")),  # loads; refused when rendered
    (with_report("x" * 70_000), ("report.risk", "at most 64 KiB")),
    ((template_toml() + '\n[gates.deep]\nkind = "pytest"\nargs = ' + "[" * 500 + "]" * 500 + "\n").encode(),
     ("(syntax)", "nested")),
    (template_toml().replace('tag = "v{version}"', 'tag = "v{version}.lock"').encode(), ("invalid tag name",)),
    (template_toml().replace('branch = "release/v{version}"', 'branch = "rel/{version}/"').encode(),
     ("invalid branch name",)),
], ids=["conversion", "format-spec", "renders-too-large", "text-too-large", "nested-500", "tag-git-refuses",
        "branch-git-refuses"])
def test_a_config_that_cannot_work_is_refused_before_any_tag_branch_row_or_report(repo, config, needles):
    repo.commit_config(config)
    before = repo.state()
    result = cli(repo, *PREPARE, "--version", "1.2.0")
    refused(result, *needles)
    assert repo.state() == before
    assert not (repo.path / ".release" / "reports" / "v1.2.0-rc.1").exists()


def test_an_unwritable_runs_folder_is_refused_before_prepare_cuts_anything(repo):
    runs = repo.path / ".release" / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.write_text("a file where the runs folder should be\n")  # unwritable for root too
    before = repo.state()
    refused(cli(repo, "prepare", "--no-deploy", "--version", "1.2.0"), ".release/runs", "cannot be written")
    assert repo.state() == before
    # a dry run says the same, and creates nothing either
    refused(cli(repo, "prepare", "--dry-run", "--version", "1.2.0"), ".release/runs", "cannot be written")
    assert repo.state() == before


def test_an_unwritable_reports_folder_is_refused_before_prepare_cuts_anything(repo):
    reports = repo.path / ".release" / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder\n")
    before = repo.state()
    refused(cli(repo, *PREPARE, "--version", "1.2.0"), ".release/reports", "cannot be written")
    assert repo.state() == before


def _run_states(repo: FuzzRepo) -> list[tuple[str, str]]:
    db = sqlite3.connect(repo.path / ".release" / "ledger.db")
    try:
        return list(db.execute("select gate, state from gate_runs order by id"))
    finally:
        db.close()


def test_a_gate_whose_runs_folder_cannot_be_written_records_no_run(repo):
    runs = repo.path / ".release" / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.write_text("not a folder\n")
    before = repo.state()
    refused(cli(repo, "gate", "run", "regression"), ".release/runs", "cannot be written")
    assert repo.state() == before and _run_states(repo) == []


def test_a_gate_whose_own_run_folder_cannot_be_made_ends_error_not_running(repo):
    """Past the folder check, the candidate's folder is a file: the run is recorded, and it ends ERROR."""
    runs = repo.path / ".release" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(runs / "1.1.0-rc.1", ignore_errors=True)
    (runs / "1.1.0-rc.1").write_text("not a folder\n")
    result = cli(repo, "gate", "run", "regression")
    assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
    assert "could not write the run folder" in result.stderr
    assert _run_states(repo) == [("regression", "ERROR")]


def test_an_rc_number_the_ledger_gave_another_commit_is_refused_before_the_tag(repo):
    """Tag v1.1.0-rc.1 deleted by hand and a fix on the branch: rc.1 again would clash with the ledger's rc.1."""
    repo.git("tag", "-d", "v1.1.0-rc.1")
    repo.git("checkout", "--quiet", "release/v1.1.0")
    (repo.path / "fix.txt").write_text("fix\n")
    repo.git("add", "fix.txt")
    repo.git("commit", "--quiet", "-m", "fix: on the release branch")
    before = repo.state()
    refused(cli(repo, *PREPARE), "rc.1", "deleted by hand")
    assert repo.state() == before


def _refuse_inserts(repo: FuzzRepo, table: str) -> None:
    """Make the ledger database itself refuse new rows of `table`, the way a failing constraint would."""
    db = sqlite3.connect(repo.path / ".release" / "ledger.db")
    try:
        db.execute(f"create trigger refuse_{table} before insert on {table} "
                   f"begin select raise(abort, 'refused by the test'); end")
        db.commit()
    finally:
        db.close()


def test_a_ledger_that_refuses_the_release_row_leaves_no_branch_and_no_tag(repo):
    _refuse_inserts(repo, "releases")
    before = repo.state()
    result = cli(repo, *PREPARE, "--version", "1.2.0")
    refused(result, "ledger")
    assert "rolled back: deleted tag v1.2.0-rc.1" in result.stderr
    assert "rolled back: deleted branch release/v1.2.0" in result.stderr
    assert repo.state() == before


def test_a_ledger_that_refuses_the_candidate_row_leaves_no_new_rc_tag(repo):
    """A new commit on the release branch would be rc.2; the candidate INSERT fails, so tag rc.2 goes again."""
    _refuse_inserts(repo, "candidates")
    repo.git("checkout", "--quiet", "release/v1.1.0")
    (repo.path / "fix.txt").write_text("fix\n")
    repo.git("add", "fix.txt")
    repo.git("commit", "--quiet", "-m", "fix: on the release branch")
    before = repo.state()
    result = cli(repo, *PREPARE)
    refused(result, "ledger")
    assert "rolled back: deleted tag v1.1.0-rc.2" in result.stderr
    assert repo.state() == before  # the branch existed before: it stays, at the commit it was at


def test_a_new_release_whose_candidate_row_is_refused_leaves_no_orphaned_release_row(repo):
    """The release and its first candidate are one transaction: the candidate INSERT fails, so no release 1.2.0
    row (and no audit event) stays behind, and the tag and branch go again."""
    _refuse_inserts(repo, "candidates")
    before = repo.state()
    result = cli(repo, *PREPARE, "--version", "1.2.0")
    refused(result, "ledger")
    assert "rolled back: deleted tag v1.2.0-rc.1" in result.stderr
    assert "rolled back: deleted branch release/v1.2.0" in result.stderr
    assert repo.state() == before  # every table, audit_events included, row for row
    status = cli(repo, "status", "1.2.0")
    assert status.exit_code == 2 and "1.2.0" in status.stderr, status.stderr


def test_the_same_prepare_succeeds_once_the_ledger_takes_the_rows(repo):
    """The rollback left nothing in the way: with the trigger gone, the same command cuts the candidate."""
    _refuse_inserts(repo, "releases")
    refused(cli(repo, *PREPARE, "--version", "1.2.0"), "ledger")
    db = sqlite3.connect(repo.path / ".release" / "ledger.db")
    db.execute("drop trigger refuse_releases")
    db.commit()
    db.close()
    result = cli(repo, *PREPARE, "--version", "1.2.0")
    assert result.exit_code == 0, result.stderr
    assert "v1.2.0-rc.1" in repo.git("tag", "--list") and "release/v1.2.0" in repo.git("branch", "--list")
