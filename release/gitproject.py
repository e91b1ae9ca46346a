"""The git adapter: every git read and side effect of the tool, each write dry-runnable. Never forces or rewrites."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import git
import semver
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from release.errors import GitConflict, InputError
from release.versioning import ParsedCommit, parse_commits, parse_version_tag


class GitProject:
    """A git working copy; mutating methods record a plan instead of acting when dry_run is set."""

    def __init__(self, path: Path, *, dry_run: bool = False, remote: str | None = None) -> None:
        try:
            self._repo = git.Repo(Path(path), search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError) as exc:
            raise InputError(f"{path}: not a git repository") from exc
        if self._repo.working_tree_dir is None:
            raise InputError(f"{path}: a bare repository has no working tree")
        self.root = Path(self._repo.working_tree_dir)
        self.dry_run = dry_run
        self.remote = remote
        self._planned: list[str] = []
        self._git = self._repo.git

    # ------------------------------------------------------------ reads

    def _run(self, *args: str) -> str:
        return str(self._git.execute(["git", *args]))

    def _try(self, *args: str) -> str | None:
        try:
            return self._run(*args)
        except GitCommandError:
            return None

    def resolve(self, ref: str) -> str | None:
        """The commit sha `ref` names, or None if it names nothing."""
        if not ref or ref.startswith("-"):
            return None
        out = self._try("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return out.strip() if out else None

    def head_sha(self, ref: str = "HEAD") -> str:
        """The commit sha of `ref`; InputError if it does not exist."""
        sha = self.resolve(ref)
        if sha is None:
            raise InputError(f"unknown git ref {ref!r}")
        return sha

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        out = self._try("symbolic-ref", "--quiet", "--short", "HEAD")
        return out.strip() if out else None

    def branch_sha(self, name: str) -> str | None:
        """The commit a local branch points at, or None if there is no such branch."""
        out = self._try("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
        return out.strip() if out else None

    def remote_branch_sha(self, remote: str, name: str) -> str | None:
        """The commit the remote-tracking branch `remote`/`name` points at (as last fetched), or None."""
        out = self._try("rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{name}")
        return out.strip() if out else None

    def is_shallow(self) -> bool:
        """True in a shallow clone (`git clone --depth N`, actions/checkout's default): history and tags are cut."""
        out = (self._try("rev-parse", "--is-shallow-repository") or "").strip()
        if out in ("true", "false"):
            return out == "true"
        # git before 2.15 echoes the unknown option: a shallow clone is one with a .git/shallow file.
        path = (self._try("rev-parse", "--git-path", "shallow") or "").strip()
        return bool(path) and (self.root / path).is_file()

    def is_dirty(self) -> bool:
        """True with tracked changes or untracked files that are not ignored."""
        return bool(self._repo.is_dirty(index=True, working_tree=True, untracked_files=True))

    def dirty_paths(self) -> list[tuple[str, str]]:
        """(state, path) for each change `is_dirty` counts: state is 'untracked', 'modified', 'added', ..."""
        out = self._run("status", "--porcelain=v1", "-z", "--untracked-files=normal")
        entries = out.split("\0")
        found: list[tuple[str, str]] = []
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            code, path = entry[:2], entry[3:]
            if "R" in code or "C" in code:
                i += 1  # a rename or copy is followed by its source path
            found.append((_status_word(code), path))
        return found

    def tags(self) -> list[str]:
        """All tag names, sorted."""
        out = self._run("tag", "--list")
        return sorted(t for t in out.splitlines() if t)

    def tag_sha(self, tag: str) -> str | None:
        """The commit a tag points at (annotated tags peeled), or None if there is no such tag."""
        out = self._try("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
        return out.strip() if out else None

    def tags_at(self, sha: str) -> list[str]:
        """Tags that point at commit `sha`."""
        out = self._try("tag", "--points-at", sha) or ""
        return sorted(t for t in out.splitlines() if t)

    def last_production_version(self, production_branch: str, tag_format: str) -> tuple[semver.Version, str] | None:
        """(version, tag) of the highest release tag reachable from the production ref; pre-releases ignored.

        `production_branch` is a branch name or a full ref such as ``refs/remotes/origin/master``.
        """
        tip = self.resolve(production_branch)
        if tip is None:
            return None
        return highest_final((self._try("tag", "--merged", tip) or "").splitlines(), tag_format)

    def highest_release_tag(self, tag_format: str) -> tuple[semver.Version, str] | None:
        """(version, tag) of the highest final release tag anywhere in the repository, reachable or not."""
        return highest_final(self.tags(), tag_format)

    def commits_between(self, since: str | None, until: str, *, squash: bool = True) -> list[ParsedCommit]:
        """Parsed commits reachable from `until` but not from `since`, oldest first.

        With `squash` (``[release] parse_squash_commits``) a squash merge gives one item per Conventional
        Commit in its message, all with the squash commit's sha (versioning.parse_commits).
        """
        until_sha = self.head_sha(until)
        rev = until_sha if since is None else f"{self.head_sha(since)}..{until_sha}"
        return [parsed for c in self._repo.iter_commits(rev, reverse=True, topo_order=True)
                for parsed in parse_commits(c.hexsha, str(c.message), c.author.email or "", squash=squash)]

    def authors_between(self, since: str | None, until: str) -> set[str]:
        """Author emails of the commits between `since` (excluded) and `until`."""
        return {c.author_email for c in self.commits_between(since, until, squash=False) if c.author_email}

    def is_ancestor(self, a: str, b: str) -> bool:
        """True if commit `a` is `b` or an ancestor of `b`."""
        try:
            self._run("merge-base", "--is-ancestor", self.head_sha(a), self.head_sha(b))
            return True
        except GitCommandError as exc:
            if exc.status == 1:
                return False
            raise InputError(f"git merge-base failed: {_git_message(exc)}") from exc

    def user_email(self) -> str | None:
        """Who runs the tool: GIT_AUTHOR_EMAIL if set (as git itself would use), else git config user.email."""
        env = os.environ.get("GIT_AUTHOR_EMAIL", "").strip()
        if env:
            return env
        out = self._try("config", "--get", "user.email")
        return out.strip() if out and out.strip() else None

    def refs(self) -> dict[str, str]:
        """Every ref name -> object sha (for before/after comparisons and audit)."""
        out = self._run("for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def planned(self) -> list[str]:
        """In dry-run mode, the operations that would have run, human-readable."""
        return list(self._planned)

    # ------------------------------------------------------------ writes

    def _check_ref_name(self, kind: str, name: str) -> None:
        if name.startswith("-") or self._try("check-ref-format", f"refs/{kind}/{name}") is None:
            raise InputError(f"invalid {'tag' if kind == 'tags' else 'branch'} name {name!r}")

    def _plan(self, step: str) -> None:
        self._planned.append(step)

    def require_ref_name(self, kind: str, name: str) -> None:
        """InputError unless git accepts refs/`kind`/`name` ('heads' or 'tags'); a read, for checks before a write."""
        self._check_ref_name(kind, name)

    def delete_created_ref(self, kind: str, name: str, sha: str) -> bool:
        """Rollback only: delete refs/`kind`/`name` if it still points (peeled) at commit `sha`; True if deleted.

        For a ref this process has just created and must undo. Compare-and-delete (`git update-ref -d REF OLD`):
        a ref moved or re-made by someone else since is left alone. In dry-run mode nothing was created.
        """
        if self.dry_run:
            return False
        self._check_ref_name(kind, name)
        ref = f"refs/{kind}/{name}"
        current = self._try("rev-parse", "--verify", "--quiet", ref)
        if current is None or self.resolve(ref) != self.head_sha(sha):
            return False
        try:
            self._run("update-ref", "-m", f"release: roll back {name}", "-d", ref, current.strip())
        except GitCommandError:
            return False  # it changed under us: not ours to delete any more
        return True

    def ensure_branch(self, name: str, at: str) -> bool:
        """Create branch `name` at commit `at` if it does not exist (True); an existing branch is never moved."""
        self._check_ref_name("heads", name)
        if self.branch_sha(name) is not None:
            return False
        sha = self.head_sha(at)
        if self.dry_run:
            self._plan(f"create branch {name} at {sha[:7]}")
            return True
        try:
            self._run("branch", "--no-track", name, sha)
        except GitCommandError as exc:
            raise GitConflict(f"could not create branch {name}: {_git_message(exc)}") from exc
        return True

    def create_tag(self, name: str, sha: str, message: str | None = None) -> bool:
        """Create annotated tag `name` at `sha` (True); no-op if it is already there; GitConflict if it points elsewhere."""
        self._check_ref_name("tags", name)
        target = self.head_sha(sha)
        existing = self.tag_sha(name)
        if existing == target:
            return False
        if existing is not None:
            raise GitConflict(f"tag {name} already points at {existing[:7]}, not {target[:7]}")
        if self.dry_run:
            self._plan(f"create tag {name} at {target[:7]}")
            return True
        try:
            self._run("tag", "--annotate", "--message", message or name, name, target)
        except GitCommandError as exc:
            if self.tag_sha(name) == target:
                return False  # someone else made the same tag meanwhile
            error = GitConflict if self.tag_sha(name) else InputError
            raise error(f"could not create tag {name}: {_git_message(exc)}") from exc
        return True

    def fast_forward_problem(self, branch: str, to_sha: str) -> str | None:
        """Why `branch` cannot fast-forward to `to_sha`, or None when it can.

        Without a local branch, each remote's copy of it must be an ancestor too: creating the branch at `to_sha`
        would otherwise drop commits that only the remote's branch has, and the push would then be refused.
        """
        target = self.head_sha(to_sha)
        current = self.branch_sha(branch)
        if current is not None:
            if current != target and not self.is_ancestor(current, target):
                return f"branch {branch} at {current[:7]} cannot fast-forward to {target[:7]}"
            return None
        for remote in (r.name for r in self._repo.remotes):
            theirs = self.remote_branch_sha(remote, branch)
            if theirs is not None and theirs != target and not self.is_ancestor(theirs, target):
                return (f"there is no local branch {branch}, and {remote}/{branch} at {theirs[:7]} cannot "
                        f"fast-forward to {target[:7]}: `git fetch {remote}` and check that {target[:7]} "
                        f"contains {remote}/{branch}")
        return None

    def fast_forward(self, branch: str, to_sha: str) -> bool:
        """Move `branch` forward to `to_sha` (True if moved or created); GitConflict if that is not a fast-forward."""
        self._check_ref_name("heads", branch)
        target = self.head_sha(to_sha)
        current = self.branch_sha(branch)
        if current == target:
            return False
        problem = self.fast_forward_problem(branch, target)
        if problem:
            raise GitConflict(problem)
        if self.dry_run:
            verb = "create branch" if current is None else "fast-forward"
            self._plan(f"{verb} {branch} {'at' if current is None else 'to'} {target[:7]}")
            return True
        try:
            if current is not None and self.current_branch() == branch:
                # The checked-out branch moves with its working tree, or the tree would look modified.
                self._run("merge", "--ff-only", target)
            else:
                self._run("update-ref", "-m", f"release: fast-forward {branch}", f"refs/heads/{branch}", target,
                          current or "0" * len(target))
        except GitCommandError as exc:
            raise GitConflict(f"could not fast-forward {branch}: {_git_message(exc)}") from exc
        return True

    def move_branch_back(self, branch: str, to_sha: str, *, expected_current: str) -> None:
        """Rollback only: set `branch` to `to_sha` if it still points at `expected_current` (compare-and-set)."""
        self._check_ref_name("heads", branch)
        target = self.head_sha(to_sha)
        expected = self.head_sha(expected_current)
        current = self.branch_sha(branch)
        if current != expected:
            raise GitConflict(f"branch {branch} moved to {(current or 'nothing')[:7]} since {expected[:7]}; "
                              "not moving it back")
        if self.dry_run:
            self._plan(f"move branch {branch} back from {expected[:7]} to {target[:7]}")
            return
        try:
            self._run("update-ref", "-m", f"release: roll back {branch}", f"refs/heads/{branch}", target, expected)
        except GitCommandError as exc:
            raise GitConflict(f"branch {branch} moved concurrently: {_git_message(exc)}") from exc

    def push(self, refs: Sequence[str]) -> bool:
        """Push branches/tags named in `refs` to the configured remote, atomically and never forced; False if no remote."""
        if not self.remote or not refs:
            return False
        if self.dry_run:
            self._plan(f"push {', '.join(refs)} to {self.remote}")
            return True
        specs: list[str] = []
        for ref in refs:
            if ref.startswith("refs/"):
                full = ref
            elif self.tag_sha(ref) is not None:
                full = f"refs/tags/{ref}"
            elif self.branch_sha(ref) is not None:
                full = f"refs/heads/{ref}"
            else:
                raise InputError(f"cannot push {ref!r}: no such branch or tag")
            specs.append(f"{full}:{full}")
        try:
            self._run("push", "--atomic", "--porcelain", self.remote, *specs)
        except GitCommandError as exc:
            raise GitConflict(f"push to {self.remote} refused: {_git_message(exc)}") from exc
        return True


def highest_final(tags: Iterable[str], tag_format: str) -> tuple[semver.Version, str] | None:
    """(version, tag) of the highest tag naming a final version (no pre-release, no build) under `tag_format`."""
    best: tuple[semver.Version, str] | None = None
    for tag in tags:
        version = parse_version_tag(tag, tag_format)
        if version is None or version.prerelease or version.build:
            continue
        if best is None or version > best[0]:
            best = (version, tag)
    return best


_STATUS_WORDS = {"?": "untracked", "M": "modified", "A": "added", "D": "deleted", "R": "renamed", "C": "copied",
                 "T": "type changed", "U": "unmerged"}


def _status_word(code: str) -> str:
    """A porcelain XY code as one word: the index state if set, else the work tree's."""
    for letter in (code[0], code[1]):
        if letter in _STATUS_WORDS:
            return _STATUS_WORDS[letter]
    return "changed"


def _git_message(exc: GitCommandError) -> str:
    text = str(exc.stderr or exc).strip().strip("'").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln.removeprefix("stderr:").strip() for ln in lines]
    return "; ".join(ln for ln in lines if ln)[:300] or "git failed"
