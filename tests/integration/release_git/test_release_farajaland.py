"""`release version` and `prepare` on a farajaland-shaped repository: right in CI, or a clear refusal (exit 2).

The repository is built like opencrvs-farajaland: production on `master` with tags v1.9.0 ... v1.9.12, work on
`develop`, release branches named `release-vX.Y.Z`. A bare "origin" is cloned the way CI clones it: the working
clone has `develop` checked out and `master` only as `origin/master`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitrepo import Commit, GitRepoHandle, git_env, make_repo
from tests.integration.release_git.conftest import CONFIG_TEXT

pytestmark = pytest.mark.integration

FARAJALAND_TOML = (CONFIG_TEXT.replace('production_branch = "production"', 'production_branch = "master"')
                   .replace('branch = "release/v{version}"', 'branch = "release-v{version}"'))
PREPARER = "rm@example.org"
SECRETS = {"CRVS_STAGING_SECRET": "synthetic-secret"}


def git(cwd: Path, *args: str) -> str:
    """Run git with a clean identity and no developer config; stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class Farajaland:
    """The bare origin and a working clone of it (develop checked out, master only as origin/master)."""

    origin: Path
    work: GitRepoHandle

    def clone(self, dest: Path, *args: str) -> GitRepoHandle:
        """Another clone of origin, e.g. `--depth 1` as actions/checkout makes it."""
        git(dest.parent, "clone", "--quiet", *args, f"file://{self.origin}", str(dest))
        return GitRepoHandle(path=dest, branch="develop")

    def push_develop(self) -> None:
        self.work.git("push", "--quiet", "origin", "develop")


@pytest.fixture
def farajaland(tmp_path: Path) -> Farajaland:
    """master with v1.9.0 ... v1.9.12 and release-v1.9.x branches; develop adds release.toml; origin is bare."""
    src = make_repo(tmp_path / "src", [Commit("chore: initial import", files={"README.md": "# Farajaland\n"})],
                    branch="master")
    for patch in range(13):
        src.commit(f"fix(seed): correction {patch}")
        src.tag(f"v1.9.{patch}", -1)
        if patch >= 10:
            src.branch_at(f"release-v1.9.{patch}", -1)
    src.git("checkout", "--quiet", "-b", "develop")
    src.commit(Commit("chore: add release configuration", files={"release.toml": FARAJALAND_TOML,
                                                                  ".gitignore": "*.log\n"}))
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(src.path), str(origin))
    git(tmp_path, "clone", "--quiet", "--branch", "develop", f"file://{origin}", str(tmp_path / "work"))
    work = GitRepoHandle(path=tmp_path / "work", branch="develop")
    assert work.git("branch", "--list").split() == ["*", "develop"]  # no local master
    assert work.git("rev-parse", "--verify", "--quiet", "refs/remotes/origin/master").strip()
    return Farajaland(origin=origin, work=work)


def _refusal(result, *parts: str) -> str:
    """The one stderr line of an exit-2 refusal, checked to contain every part."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    assert "first release" not in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def _ledger_rows(repo: Path) -> dict[str, int]:
    """Rows per ledger table (no ledger at all counts as empty)."""
    path = repo / ".release" / "ledger.db"
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        counts = {t: db.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        db.close()
    return {t: n for t, n in counts.items() if n and t != "alembic_version"}


# ------------------------------------------------------------------ the version, read from origin/master


def test_a_feat_bang_gives_2_0_0_and_says_it_read_origin_master(farajaland, run_cli):
    work = farajaland.work
    work.commit("feat(events)!: v2 event model")
    before = work.refs()
    result = run_cli("version", "--json", cwd=work.path)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["last_tag"], data["next_version"], data["bump"]) == ("v1.9.12", "2.0.0", "major")
    assert (data["branch"], data["rc_tag"], data["released"]) == ("release-v2.0.0", "v2.0.0-rc.1", True)
    assert data["production_ref"] == "origin/master"
    assert "origin/master" in data["production_note"]
    assert result.stderr == "note: no local branch master: reading production from origin/master (as last fetched)\n"
    text = run_cli("version", cwd=work.path)
    assert "production: 1.9.12 (v1.9.12) on origin/master" in text.stdout
    assert "candidate:  v2.0.0-rc.1 (would create) on release-v2.0.0" in text.stdout
    assert work.refs() == before


def test_a_fix_after_the_last_tag_gives_the_next_patch(farajaland, run_cli):
    farajaland.work.commit("fix(forms): date of birth validation")
    data = json.loads(run_cli("version", "--json", cwd=farajaland.work.path).stdout)
    assert (data["last_version"], data["next_version"]) == ("1.9.12", "1.9.13")


def test_a_local_master_is_read_when_it_exists(farajaland, run_cli):
    work = farajaland.work
    work.git("branch", "master", "origin/master")
    work.commit("feat: registrar dashboard")
    result = run_cli("version", "--json", cwd=work.path)
    data = json.loads(result.stdout)
    assert (data["production_ref"], data["production_note"], data["next_version"]) == ("master", None, "1.10.0")
    assert result.stderr == ""


# ------------------------------------------------------------------ shallow clones


@pytest.mark.parametrize("depth", ["1", "3"])  # at depth 3, v1.9.12 is inside the clone: refused all the same
def test_a_shallow_clone_exits_2_with_the_fix(farajaland, run_cli, tmp_path, depth):
    farajaland.work.commit("feat!: v2 event model")
    farajaland.push_develop()
    shallow = farajaland.clone(tmp_path / f"shallow-{depth}", "--depth", depth, "--branch", "develop")
    assert shallow.git("rev-parse", "--is-shallow-repository").strip() == "true"
    before = shallow.refs()
    _refusal(run_cli("version", cwd=shallow.path), "shallow clone", "`git fetch --unshallow --tags`",
             "`fetch-depth: 0` on actions/checkout")
    in_actions = run_cli("version", "--json", cwd=shallow.path, env={"GITHUB_ACTIONS": "true"})
    line = _refusal(in_actions, "shallow clone")
    assert line.endswith("fix: set `fetch-depth: 0` on actions/checkout (or run `git fetch --unshallow --tags` "
                         "before this step)")
    assert in_actions.stdout == ""
    _refusal(run_cli("prepare", "--dry-run", "--as", PREPARER, cwd=shallow.path, env=SECRETS), "shallow clone")
    _refusal(run_cli("prepare", "--no-deploy", "--no-gates", "--as", PREPARER, cwd=shallow.path, env=SECRETS),
             "shallow clone")
    assert shallow.refs() == before and _ledger_rows(shallow.path) == {}


def test_the_fixes_for_a_depth_1_clone_lead_to_the_right_version(farajaland, run_cli, tmp_path):
    farajaland.work.commit("feat!: v2 event model")
    farajaland.push_develop()
    shallow = farajaland.clone(tmp_path / "ci", "--depth", "1", "--branch", "develop")  # single branch, no tags
    _refusal(run_cli("version", cwd=shallow.path), "shallow clone")
    shallow.git("fetch", "--quiet", "--unshallow", "--tags")
    # A --depth clone fetches one branch only: now the tags are here but master is not, and that is said.
    _refusal(run_cli("version", cwd=shallow.path), "'master'", "`git fetch origin master:master`")
    shallow.git("fetch", "--quiet", "origin", "master:master")
    data = json.loads(run_cli("version", "--json", cwd=shallow.path).stdout)
    assert (data["production_ref"], data["last_tag"], data["next_version"]) == ("master", "v1.9.12", "2.0.0")


# ------------------------------------------------------------------ tags but no production branch


def test_tags_without_a_production_branch_exit_2(farajaland, run_cli):
    work = farajaland.work
    work.commit("feat!: v2 event model")
    work.git("update-ref", "-d", "refs/remotes/origin/master")
    before = work.refs()
    line = _refusal(run_cli("version", cwd=work.path), "production branch 'master'", "origin/master",
                    "highest v1.9.12", "`git fetch origin master:master`", "release.production_branch")
    assert "0.1.0" not in line and "1.0.0" not in line
    _refusal(run_cli("version", "--json", cwd=work.path), "production branch 'master'")
    _refusal(run_cli("prepare", "--no-deploy", "--no-gates", "--as", PREPARER, cwd=work.path, env=SECRETS),
             "production branch 'master'")
    assert work.refs() == before and _ledger_rows(work.path) == {}


def test_a_configured_remote_is_where_the_production_branch_is_looked_for(farajaland, run_cli):
    work = farajaland.work
    work.git("remote", "rename", "origin", "upstream")
    work.commit("feat: a")
    text = (work.path / "release.toml").read_text().replace('[release]\n', '[release]\nremote = "upstream"\n')
    work.commit(Commit("chore: push to upstream", files={"release.toml": text}))
    result = run_cli("version", "--json", cwd=work.path)
    assert json.loads(result.stdout)["production_ref"] == "upstream/master", result.stderr


def test_a_production_branch_without_any_version_tag_is_not_a_first_release(farajaland, run_cli):
    work = farajaland.work
    work.git("branch", "master", "HEAD~14")  # the initial import, before any tag, while tags exist
    work.commit("feat: a")
    _refusal(run_cli("version", cwd=work.path), "no version tag is in the history of master", "highest v1.9.12")


# ------------------------------------------------------------------ the final tag exists already


def test_an_existing_final_tag_exits_2_naming_it_and_its_commit(farajaland, run_cli):
    work = farajaland.work
    # Another tool (commitizen, say) tagged v2.0.0 on a side branch that never reached master.
    work.git("checkout", "--quiet", "-b", "bump", "origin/master")
    side = work.commit("bump: version 1.9.12 → 2.0.0")
    work.tag("v2.0.0", side)
    work.git("checkout", "--quiet", "develop")
    work.git("branch", "-D", "bump")
    work.commit("feat!: v2 event model")
    before = work.refs()
    parts = ("v2.0.0 exists at commit " + side[:12], "outside the history of origin/master", "--version X.Y.Z")
    _refusal(run_cli("version", cwd=work.path), *parts)
    _refusal(run_cli("prepare", "--dry-run", "--as", PREPARER, cwd=work.path, env=SECRETS), *parts)
    _refusal(run_cli("prepare", "--no-deploy", "--no-gates", "--as", PREPARER, cwd=work.path, env=SECRETS), *parts)
    assert work.refs() == before and _ledger_rows(work.path) == {}
    _refusal(run_cli("version", "--version", "2.0.0", cwd=work.path), "v2.0.0 exists")
    other = json.loads(run_cli("version", "--json", "--version", "2.1.0", cwd=work.path).stdout)
    assert other["next_version"] == "2.1.0"


# ------------------------------------------------------------------ squash merges and footers


def test_conventional_lines_in_a_squash_body_count_and_fill_the_changelog(farajaland, run_cli):
    work = farajaland.work
    work.commit("Death registration v2 (#42)\n\n* feat(death): record the cause of death\n\n"
                "* fix!: drop the legacy informant type\n\n* docs: describe the new fields\n\n"
                "Co-authored-by: Ana Dev <ana@example.org>")
    result = run_cli("version", "--json", cwd=work.path)
    data = json.loads(result.stdout)
    assert (data["next_version"], data["bump"], data["commit_count"]) == ("2.0.0", "major", 2)
    assert [(r["subject"], r["squash_part"], r["issue_refs"]) for r in data["reasons"]] == [
        ("drop the legacy informant type", 3, ["#42"])]
    prepared = run_cli("prepare", "--no-deploy", "--no-gates", "--json", "--as", PREPARER, cwd=work.path, env=SECRETS)
    assert prepared.exit_code == 0, prepared.stderr
    cut = json.loads(prepared.stdout)
    assert (cut["released"], cut["tag"], cut["branch"], cut["production_ref"]) == (
        True, "v2.0.0-rc.1", "release-v2.0.0", "origin/master")
    assert work.git("rev-parse", "v2.0.0-rc.1^{commit}").strip() == work.shas[-1]
    changelog = Path(cut["changelog"]).read_text()
    breaking, features = changelog.split("New features")[0], changelog.split("New features")[1]
    assert "drop the legacy informant type" in breaking
    assert "record the cause of death" in features
    assert "Death registration v2" not in changelog  # the PR title only heads the commits below it


def test_squash_parsing_can_be_switched_off(farajaland, run_cli):
    work = farajaland.work
    text = (work.path / "release.toml").read_text().replace('[release]\n', '[release]\nparse_squash_commits = false\n')
    work.commit(Commit("Death registration v2 (#42)\n\n* feat(death): record the cause of death",
                       files={"release.toml": text}))
    data = json.loads(run_cli("version", "--json", cwd=work.path).stdout)
    assert (data["released"], data["next_version"]) == (False, None)


@pytest.mark.parametrize("footer", ["BREAKING CHANGE #12", "BREAKING-CHANGE #12", "BREAKING-CHANGE: token format"])
def test_breaking_change_footer_forms_bump_the_major(farajaland, run_cli, footer):
    farajaland.work.commit(f"fix(auth): token format\n\n{footer}")
    data = json.loads(run_cli("version", "--json", cwd=farajaland.work.path).stdout)
    assert (data["next_version"], data["bump"]) == ("2.0.0", "major")


# ------------------------------------------------------------------ major_on_zero


@pytest.mark.parametrize(("major_on_zero", "expected", "bump"), [("false", "0.5.0", "minor"),
                                                                  ("true", "1.0.0", "major")])
def test_major_on_zero(tmp_path, run_cli, major_on_zero, expected, bump):
    text = FARAJALAND_TOML.replace('[release]\n', f'[release]\nmajor_on_zero = {major_on_zero}\n')
    repo = make_repo(tmp_path / "zero", ["chore: init", "feat!: new api"], branch="master",
                     files={"release.toml": text}, tags={"v0.4.2": 0})
    data = json.loads(run_cli("version", "--json", cwd=repo.path).stdout)
    assert (data["last_version"], data["next_version"], data["bump"]) == ("0.4.2", expected, bump)
    assert (data["bump_note"] is not None) is (major_on_zero == "false")
    forced = json.loads(run_cli("version", "--json", "--bump", "major", cwd=repo.path).stdout)
    assert forced["next_version"] == "1.0.0"  # leaving 0.x is asked for, not inferred


def test_major_on_zero_false_keeps_a_first_release_on_0x(tmp_path, run_cli):
    text = FARAJALAND_TOML.replace('[release]\n', '[release]\nmajor_on_zero = false\n')
    repo = make_repo(tmp_path / "new", ["chore: init", "feat!: new api"], branch="master",
                     files={"release.toml": text})
    data = json.loads(run_cli("version", "--json", cwd=repo.path).stdout)
    assert (data["last_version"], data["next_version"]) == (None, "0.1.0")


# ------------------------------------------------------------------ nothing to release


def test_nothing_to_release_exits_0_with_a_line_and_released_false(farajaland, run_cli):
    work = farajaland.work
    work.commit("docs: how to seed test data")
    work.commit("Tidy the seed scripts (#51)\n\n* chore: rename files\n\n* ci: cache node modules")
    text = run_cli("version", cwd=work.path)
    assert text.exit_code == 0, text.stderr
    assert text.stdout == ("nothing to release: no feat, fix, perf or breaking commit since 1.9.12; production is "
                           "1.9.12 (v1.9.12) on origin/master; 3 commits read, no candidate to cut\n")
    result = run_cli("version", "--json", cwd=work.path)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["released"], data["next_version"], data["last_tag"], data["commit_count"]) == (
        False, None, "v1.9.12", 3)
    assert data["reason"].startswith("nothing to release")
    work.commit("fix: a")
    released = json.loads(run_cli("version", "--json", cwd=work.path).stdout)
    assert set(released) == set(data) - {"reason"} and released["released"] is True  # same keys as a plan


def test_prepare_with_nothing_to_release_creates_nothing(farajaland):
    from release.planning import NothingToPlan
    from release.workflow.context import open_context
    from release.workflow.prepare import prepare

    work = farajaland.work
    work.commit("docs: how to seed test data")
    before = work.refs()
    ctx = open_context(work.path, actor=PREPARER, environ=SECRETS)
    try:
        with pytest.raises(NothingToPlan) as info:
            prepare(ctx, deploy=False, gates=False)
    finally:
        ctx.ledger.close()
    assert info.value.line().startswith("nothing to release: no feat, fix, perf or breaking commit since 1.9.12")
    assert info.value.to_json()["released"] is False
    assert work.refs() == before and _ledger_rows(work.path) == {}


def test_prepare_cli_with_nothing_to_release_exits_0(farajaland, run_cli):
    work = farajaland.work
    work.commit("docs: how to seed test data")
    before = work.refs()
    text = run_cli("prepare", "--no-deploy", "--no-gates", "--as", PREPARER, cwd=work.path, env=SECRETS)
    assert text.exit_code == 0, text.stderr
    assert text.stdout.startswith("nothing to release: no feat, fix, perf or breaking commit since 1.9.12")
    data = json.loads(run_cli("prepare", "--json", "--no-deploy", "--no-gates", "--as", PREPARER,
                              cwd=work.path, env=SECRETS).stdout)
    assert data["released"] is False
    assert work.refs() == before and _ledger_rows(work.path) == {}


# ------------------------------------------------------------------ a dirty tree


def test_prepare_right_after_init_names_the_untracked_release_toml(farajaland, run_cli, tmp_path):
    fresh = farajaland.clone(tmp_path / "fresh", "--branch", "master")  # master has no release.toml
    assert not (fresh.path / "release.toml").exists()
    assert run_cli("init", cwd=fresh.path).exit_code == 0
    line = _refusal(run_cli("prepare", "--dry-run", "--as", PREPARER, cwd=fresh.path, env=SECRETS),
                    "release.toml (untracked)", "release.toml is not committed yet",
                    "`git add release.toml && git commit")
    assert "uncommitted or untracked changes" in line


def test_prepare_names_the_dirty_files_up_to_twenty(farajaland, run_cli):
    work = farajaland.work
    work.commit("feat: a")
    (work.path / "README.md").write_text("changed\n")
    for i in range(24):
        (work.path / f"scratch-{i:02d}.txt").write_text("x\n")
    line = _refusal(run_cli("prepare", "--dry-run", "--as", PREPARER, cwd=work.path, env=SECRETS),
                    "README.md (modified)", "scratch-00.txt (untracked)", "and 5 more")
    assert line.count("(untracked)") + line.count("(modified)") == 20
    assert "release.toml" not in line


def test_dirty_paths_name_each_kind_of_change(farajaland):
    from release.gitproject import GitProject

    work = farajaland.work
    (work.path / "README.md").write_text("changed\n")
    (work.path / "new").mkdir()
    (work.path / "new" / "a.txt").write_text("a\n")
    (work.path / "staged.txt").write_text("s\n")
    work.git("add", "staged.txt")
    work.git("mv", "changes/001.txt", "changes/moved.txt")
    (work.path / "debug.log").write_text("ignored by .gitignore\n")
    assert sorted(GitProject(work.path).dirty_paths()) == sorted([
        ("modified", "README.md"), ("untracked", "new/"), ("added", "staged.txt"), ("renamed", "changes/moved.txt"),
    ])
