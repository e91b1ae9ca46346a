"""`release init` reads the repository it runs in, so the release.toml it writes fits that repository.

It finds the production branch (local, or only on the remote as a fresh clone has it), the default branch, how the
existing release branches and version tags are named, and GitHub deploy workflows that take `workflow_dispatch`
inputs. It only reads: no ref, file or remote is changed. Where it cannot be sure (a shallow clone hides tags and
branches) it refuses, as the rest of the tool does; where it has nothing to read (no repository, no commits) it
falls back to the defaults the template has always had, and says so.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
import semver
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from release.config import CONFIG_NAME, DEPLOY_PLACEHOLDERS, parse_config
from release.errors import InputError, UsageError
from release.gitproject import highest_final
from release.versioning import parse_version_tag

#: Branch names that conventionally hold what is in production, in the order a tie is broken: a branch called
#: "production" says so outright; "master" is production in git-flow repositories such as opencrvs-farajaland
#: (development on develop); "main" is more often the development trunk of newer repositories.
PRODUCTION_NAMES = ("production", "master", "main")
DEFAULT_PRODUCTION = "production"
DEFAULT_BRANCH_FORMAT = "release/v{version}"
DEFAULT_TAG_FORMAT = "v{version}"
#: The targets a deploy workflow is looked for, with the words that name them in a workflow's file or title.
TARGET_WORDS = {"staging": ("staging", "stage", "stg"), "production": ("production", "prod", "prd")}
#: workflow_dispatch input names that choose the environment (GitHub also has `type: environment`).
ENV_INPUTS = ("environment", "env", "target", "stage", "deploy-environment", "target-environment")
#: Words in an input name that say it carries an image tag, version or ref: a value the tool must be told.
_TAG_WORDS = ("tag", "version", "image", "ref", "sha")
#: An input naming this repository's own image: OpenCRVS country configs call it countryconfig-image-tag
#: (opencrvs-farajaland .github/workflows/deploy.yml).
_OWN_WORDS = ("countryconfig",)

_VERSIONED_TAG = re.compile(r"^(?P<prefix>[A-Za-z0-9._/@-]*?)(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$")
#: release-v1.9.0, release/v1.0.0, releases/2.0.0, release/1.9, team/release-1.0.0; not a bot's branch that only
#: mentions a package called release-something (dependabot/npm_and_yarn/release-it-1.2.3).
_RELEASE_BRANCH = re.compile(r"^(?P<prefix>(?:[A-Za-z0-9._-]+/)?(?i:releases?)[-/_]?)(?P<v>v?)"
                             r"(?P<version>\d+\.\d+(?:\.\d+)?)$")
# What release.config refuses in a branch or tag format (its ref_format check).
_BAD_REF = re.compile(r"[\s~^:?*\[\\{}]|\.\.|@\{")


@dataclass(frozen=True)
class Finding:
    """One thing init read from the repository: what, the value it chose, and why."""

    what: str
    value: str
    why: str

    def to_json(self) -> dict[str, str]:
        """{"what", "value", "why"}."""
        return {"what": self.what, "value": self.value, "why": self.why}


@dataclass(frozen=True)
class FormatGuess:
    """A branch or tag format read from existing names: how many follow it, the highest, and any caveat."""

    format: str
    count: int
    highest: str
    others: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class DeployVariable:
    """A [variables] entry a detected deploy command needs: an env var to read, or a literal; and its input."""

    name: str
    input: str
    env: str | None = None
    value: str | None = None  # a literal, which may use the built-ins ("{tag}")
    workflow_default: str | None = None

    def toml(self) -> str:
        """Its value as release.toml writes it."""
        return _toml(self.value) if self.value is not None else "{ env = " + _toml(self.env or "") + " }"


@dataclass(frozen=True)
class DeployPlan:
    """A `gh workflow run` command for one target, built from a workflow's workflow_dispatch inputs."""

    target: str
    workflow: str  # path in the repository, e.g. .github/workflows/deploy.yml
    command: str  # a release.toml command template
    variables: tuple[DeployVariable, ...] = ()
    left_default: tuple[str, ...] = ()  # inputs not passed: the workflow's defaults apply
    timeout_minutes: int | None = None
    #: The same deploy through crvs-release's scripts/examples/farajaland-deploy, which also waits for the run
    #: (`gh run watch --exit-status`) and prints the image tags; None unless the inputs are farajaland's.
    script_command: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON."""
        return {"target": self.target, "workflow": self.workflow, "command": self.command,
                "variables": {v.name: {"input": v.input, **({"value": v.value} if v.value is not None
                                                            else {"env": v.env})} for v in self.variables},
                "left_at_default": list(self.left_default), "script_command": self.script_command}


@dataclass(frozen=True)
class Detection:
    """What init read, and the [release] values it writes from it."""

    root: Path | None
    production_branch: str = DEFAULT_PRODUCTION
    branch: str = DEFAULT_BRANCH_FORMAT
    tag: str = DEFAULT_TAG_FORMAT
    default_branch: str | None = None
    remote: str | None = None
    deploys: tuple[DeployPlan, ...] = ()
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()

    def deploy_for(self, target: str) -> DeployPlan | None:
        """The deploy plan for `target`, if a workflow fits it."""
        return next((p for p in self.deploys if p.target == target), None)

    def variables(self) -> tuple[DeployVariable, ...]:
        """Every variable the deploy plans use, each once, in order of first use."""
        seen: dict[str, DeployVariable] = {}
        for plan in self.deploys:
            for variable in plan.variables:
                seen.setdefault(variable.name, variable)
        return tuple(seen.values())

    def to_json(self) -> dict[str, Any]:
        """The detection as JSON (for `release init --json`)."""
        return {"repository": str(self.root) if self.root else None,
                "release": {"production_branch": self.production_branch, "branch": self.branch, "tag": self.tag},
                "default_branch": self.default_branch, "remote": self.remote,
                "deploys": [p.to_json() for p in self.deploys],
                "findings": [f.to_json() for f in self.findings], "warnings": list(self.warnings)}


# ------------------------------------------------------------------------------------------ formats


def _valid_format(fmt: str) -> bool:
    """True for a branch or tag format release.config accepts ({version} once, a valid ref otherwise)."""
    sample = fmt.replace("{version}", "1.0.0", 1)
    return (fmt.count("{version}") == 1 and not _BAD_REF.search(sample)
            and not sample.startswith(("/", "-", ".")) and "//" not in sample)


def _semver(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


def infer_tag_format(tags: Iterable[str]) -> FormatGuess | None:
    """The format most version tags follow (``v{version}``, ``{version}``, ``app-{version}``...), or None.

    A tie goes to ``v{version}``, then ``{version}``: the forms python-semantic-release and semantic-release write.
    """
    groups: dict[str, list[tuple[semver.Version, str]]] = {}
    for tag in tags:
        m = _VERSIONED_TAG.match(tag)
        if m is None:
            continue
        fmt = m.group("prefix") + "{version}"
        version = parse_version_tag(tag, fmt) if _valid_format(fmt) else None
        if version is not None:
            groups.setdefault(fmt, []).append((version, tag))
    if not groups:
        return None
    best = max(groups, key=lambda f: (len(groups[f]), f == DEFAULT_TAG_FORMAT, f == "{version}", -len(f), f))
    others = tuple(sorted(t for f, found in groups.items() if f != best for _, t in found))
    return FormatGuess(best, len(groups[best]), max(groups[best])[1], others)


def infer_branch_format(branches: Iterable[str]) -> FormatGuess | None:
    """The release-branch format most existing release branches follow, or None when there is none.

    ``release-v1.9.0`` (opencrvs-farajaland) gives ``release-v{version}``, ``release/v1.0.0`` gives
    ``release/v{version}``. Branches named by major.minor only (``release/1.9``) give ``release/{version}`` with a
    note: the tool cuts one branch per version, so the next one is ``release/1.10.0``.
    """
    groups: dict[tuple[str, bool], list[tuple[semver.Version, str]]] = {}
    for name in branches:
        m = _RELEASE_BRANCH.match(name)
        if m is None:
            continue
        fmt = m.group("prefix") + m.group("v") + "{version}"
        parts = m.group("version").split(".")
        version = _semver(".".join((*parts, "0")) if len(parts) == 2 else m.group("version"))
        if version is not None and _valid_format(fmt):
            groups.setdefault((fmt, len(parts) == 3), []).append((version, name))
    if not groups:
        return None
    key = max(groups, key=lambda k: (len(groups[k]), k[1], max(groups[k])[0], k[0] == DEFAULT_BRANCH_FORMAT))
    fmt, full = key
    found = groups[key]
    others = tuple(sorted(n for k, names in groups.items() if k != key for _, n in names))
    note = None if full else (f"existing release branches carry major.minor only (e.g. {max(found)[1]}); the tool "
                              f"cuts one branch per version, so the next is named like "
                              f"{fmt.replace('{version}', str(max(found)[0].bump_minor()))}")
    return FormatGuess(fmt, len(found), max(found)[1], others, note)


# ------------------------------------------------------------------------------------------ git reads


@dataclass(frozen=True)
class _Ref:
    short: str  # branch name without the remote
    ref: str  # full ref name
    remote: str | None  # None for a local branch

    @property
    def display(self) -> str:
        return self.short if self.remote is None else f"{self.remote}/{self.short}"


class _Repo:
    """Read-only git queries init needs, over GitPython's git command wrapper."""

    def __init__(self, repo: git.Repo) -> None:
        self._git = repo.git
        self.root = Path(str(repo.working_tree_dir))
        self.remotes = sorted((r.name for r in repo.remotes), key=len, reverse=True)

    def run(self, *args: str) -> str:
        return str(self._git.execute(["git", *args]))

    def try_run(self, *args: str) -> str | None:
        try:
            return self.run(*args)
        except GitCommandError:
            return None

    def is_shallow(self) -> bool:
        return (self.try_run("rev-parse", "--is-shallow-repository") or "").strip() == "true"

    def branches(self) -> dict[str, list[_Ref]]:
        """Short branch name -> its refs: the local branch first, then remote-tracking ones (origin first)."""
        out = self.try_run("for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes") or ""
        found: dict[str, list[_Ref]] = {}
        for refname in out.splitlines():
            ref = self.ref(refname)
            if ref is not None:
                found.setdefault(ref.short, []).append(ref)
        for refs in found.values():
            refs.sort(key=lambda r: (r.remote is not None, r.remote != "origin", r.remote or ""))
        return found

    def ref(self, refname: str) -> _Ref | None:
        if refname.startswith("refs/heads/"):
            return _Ref(refname.removeprefix("refs/heads/"), refname, None)
        for remote in self.remotes:  # longest name first: a remote may contain '/'
            prefix = f"refs/remotes/{remote}/"
            if refname.startswith(prefix):
                short = refname.removeprefix(prefix)
                return None if short == "HEAD" else _Ref(short, refname, remote)
        return None

    def tags(self) -> list[str]:
        out = self.try_run("for-each-ref", "--format=%(refname:strip=2)", "refs/tags") or ""
        return [t for t in out.splitlines() if t]

    def merged_tags(self, ref: str) -> list[str]:
        return [t for t in (self.try_run("tag", "--list", "--merged", ref) or "").splitlines() if t]

    def refs_containing(self, tag: str) -> list[str]:
        out = self.try_run("for-each-ref", "--format=%(refname)", "--contains", f"refs/tags/{tag}",
                           "refs/heads", "refs/remotes") or ""
        return [r for r in out.splitlines() if r]

    def commits_since(self, tag: str, ref: str) -> int:
        out = self.try_run("rev-list", "--count", f"refs/tags/{tag}..{ref}")
        return int(out.strip()) if out and out.strip().isdigit() else 1 << 30

    def symbolic(self, ref: str) -> str | None:
        out = self.try_run("symbolic-ref", "--quiet", ref)
        return out.strip() if out and out.strip() else None


def _open(directory: Path) -> _Repo | None:
    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    if repo.working_tree_dir is None:
        return None
    return _Repo(repo)


def _default_branch(repo: _Repo, remote: str | None) -> Finding | None:
    """The remote's HEAD (what a clone checks out), else the checked-out branch."""
    if remote:
        head = repo.symbolic(f"refs/remotes/{remote}/HEAD")
        if head and head.startswith(f"refs/remotes/{remote}/"):
            return Finding("default branch", head.removeprefix(f"refs/remotes/{remote}/"), f"{remote}/HEAD")
    current = repo.symbolic("HEAD")
    if current and current.startswith("refs/heads/"):
        return Finding("default branch", current.removeprefix("refs/heads/"), "the checked-out branch")
    return None


def _remote_only(ref: _Ref, branches: Mapping[str, list[_Ref]]) -> str:
    """'; there is no local master, so the tool reads origin/master' for a branch found only on the remote."""
    if ref.remote is None or any(r.remote is None for r in branches.get(ref.short, [])):
        return ""
    return f"; there is no local {ref.short}, so the tool reads {ref.display}"


def _production_branch(repo: _Repo, branches: Mapping[str, list[_Ref]], tag_format: str, release_format: str | None,
                       ) -> tuple[Finding, list[str]]:
    """Choose the production branch: the conventionally named branch that holds the highest version tag.

    A tie goes to the branch with fewer commits after that tag (production stops at a release; a development
    branch moves on), then to PRODUCTION_NAMES' order. When none of those names holds a version tag, another
    branch that holds the highest one is taken, with a warning. With no version tags at all, "production" is kept
    (the first promote creates it).
    """
    warnings: list[str] = []
    highest = highest_final(repo.tags(), tag_format)
    if highest is None:
        if DEFAULT_PRODUCTION in branches:
            ref = branches[DEFAULT_PRODUCTION][0]
            why = f"no version tags yet; {ref.display} exists{_remote_only(ref, branches)}"
        else:
            why = f"no version tags yet: `release promote` creates branch {DEFAULT_PRODUCTION} at the first release"
        return Finding("production branch", DEFAULT_PRODUCTION, why), warnings
    scored: list[tuple[tuple[semver.Version, int, int, bool], str, str, str]] = []
    for rank, name in enumerate(PRODUCTION_NAMES):
        for ref in branches.get(name, []):
            best = highest_final(repo.merged_tags(ref.ref), tag_format)
            if best is None:
                continue
            since = repo.commits_since(best[1], ref.ref)
            after = f"{since} commit{'s' if since != 1 else ''} after it" if since else "at its tip"
            why = (f"{best[1]}{', the highest version tag,' if best == highest else ''} is on {ref.display} "
                   f"({after}){_remote_only(ref, branches)}")
            scored.append(((best[0], -since, -rank, ref.remote is None), name, best[1], why))
    if scored:
        scored.sort(key=lambda s: s[0], reverse=True)
        _, name, tag, why = scored[0]
        if tag != highest[1]:
            warnings.append(f"the highest version tag {highest[1]} is not on {name} (its highest is {tag}): "
                            "check release.production_branch")
        return Finding("production branch", name, why), warnings
    # None of the usual names holds a version tag: another branch that holds the highest one, if any.
    release_branch = (re.compile(re.escape(release_format).replace(re.escape("{version}"), ".+"))
                      if release_format else None)
    others: list[tuple[int, str, str]] = []
    for refname in repo.refs_containing(highest[1]):
        holder = repo.ref(refname)
        if holder is None or (release_branch is not None and release_branch.fullmatch(holder.short)):
            continue
        others.append((repo.commits_since(highest[1], holder.ref), holder.short,
                       holder.display + _remote_only(holder, branches)))
    if others:
        _, name, where = min(others)
        warnings.append(f"no branch named {'/'.join(PRODUCTION_NAMES)} holds a version tag; init chose {name}, "
                        f"which holds {highest[1]}: check release.production_branch")
        return Finding("production branch", name, f"{highest[1]}, the highest version tag, is on {where}"), warnings
    warnings.append(f"version tags exist (the highest is {highest[1]}) but no branch other than a release branch "
                    "holds one: set "
                    "release.production_branch to your production branch, or create it at the last release "
                    f"(git branch {DEFAULT_PRODUCTION} {highest[1]}); until then `release version` refuses")
    return Finding("production branch", DEFAULT_PRODUCTION, f"no branch but a release branch holds {highest[1]}"), \
        warnings


# ------------------------------------------------------------------------------------------ deploy workflows


@dataclass(frozen=True)
class Workflow:
    """A GitHub Actions workflow that takes workflow_dispatch inputs."""

    path: str  # relative to the repository root
    name: str
    inputs: Mapping[str, Mapping[str, Any]]
    timeout_minutes: int | None = None

    @property
    def file(self) -> str:
        """The file name, as `gh workflow run` takes it."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        """The file name without .yml/.yaml, lower case."""
        return self.file.rsplit(".", 1)[0].lower()


def dispatch_inputs(document: Any) -> dict[str, dict[str, Any]] | None:
    """A workflow document's workflow_dispatch inputs, or None when it has none.

    PyYAML reads the bare key ``on`` as the boolean True (YAML 1.1), so both spellings are looked up.
    """
    if not isinstance(document, Mapping):
        return None
    on = document.get("on", document.get(True))
    if not isinstance(on, Mapping):
        return None
    dispatch = on.get("workflow_dispatch")
    inputs = dispatch.get("inputs") if isinstance(dispatch, Mapping) else None
    if not isinstance(inputs, Mapping) or not inputs:
        return None
    return {str(k): dict(v) if isinstance(v, Mapping) else {} for k, v in inputs.items()}


def _timeout_minutes(document: Mapping[str, Any]) -> int | None:
    jobs = document.get("jobs")
    found = [job.get("timeout-minutes") for job in jobs.values() if isinstance(job, Mapping)] \
        if isinstance(jobs, Mapping) else []
    numbers = [int(t) for t in found if isinstance(t, int) and not isinstance(t, bool) and t > 0]
    return max(numbers) if numbers else None


def read_workflows(root: Path) -> tuple[list[Workflow], list[str]]:
    """Deploy workflows (a file or title with "deploy") under .github/workflows that take dispatch inputs."""
    folder = root / ".github" / "workflows"
    if not folder.is_dir():
        return [], []
    try:
        import yaml
    except ImportError:
        return [], [f"{folder.relative_to(root)} was not read: PyYAML is not installed (pip install pyyaml)"]
    found: list[Workflow] = []
    notes: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()):
        rel = path.relative_to(root).as_posix()
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            notes.append(f"{rel} was not read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        inputs = dispatch_inputs(document)
        if inputs is None:
            continue
        name = str(document.get("name") or "")
        if "deploy" not in path.stem.lower() and "deploy" not in name.lower():
            continue
        found.append(Workflow(rel, name, inputs, _timeout_minutes(document)))
    return found, notes


def _variable_name(input_name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", input_name).lower().strip("_") or "input"
    if name[0].isdigit() or name in DEPLOY_PLACEHOLDERS:
        name = f"input_{name}"
    return name


def _word(name: str, value: str, placeholder: bool) -> str:
    """One `-f name=value` argument: a literal value is quoted for shlex and its braces doubled."""
    key = name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else shlex.quote(name)
    if placeholder:
        return f"{key}={value}"
    return f"{key}={shlex.quote(value).replace('{', '{{').replace('}', '}}')}"


def _tag_like(input_name: str) -> bool:
    """True for an input that carries an image tag, a version or a ref: core-image-tag, version, imageTag, git_ref."""
    words = [w.lower() for w in re.split(r"[-_.\s]+|(?<=[a-z0-9])(?=[A-Z])", input_name) if w]
    return any(w in _TAG_WORDS or w.endswith(("tag", "version")) for w in words)


def _env_input(inputs: Mapping[str, Mapping[str, Any]]) -> str | None:
    for name, spec in inputs.items():
        if spec.get("type") == "environment":
            return name
    lowered = {n.lower(): n for n in inputs}
    return next((lowered[n] for n in ENV_INPUTS if n in lowered), None)


#: The inputs of opencrvs-farajaland's deploy.yml and deploy-prod.yml that scripts/examples/farajaland-deploy
#: passes (WORKFLOW ENVIRONMENT CORE_IMAGE_TAG COUNTRYCONFIG_IMAGE_TAG; docs/deploy.md section 4).
FARAJALAND_INPUTS = ("environment", "core-image-tag", "countryconfig-image-tag")


def plan_deploy(workflow: Workflow, target: str, own_words: Iterable[str] = _OWN_WORDS) -> DeployPlan | None:
    """The `gh workflow run` command that deploys to `target` with this workflow, or None if it does not fit.

    The environment input gets the target's name (the workflow must offer it when it is a choice). An image tag or
    version input becomes a [variables] entry: this repository's own image (countryconfig-image-tag) is the
    candidate's tag, "{tag}"; any other (core-image-tag) reads an env var, never the workflow's default, which may
    be stale. A required input without a default reads an env var too. Every other input is left out, so the
    workflow's default applies (GitHub's dispatch API uses a workflow's defaults for omitted inputs).
    """
    env_input = _env_input(workflow.inputs)
    if env_input is not None:
        options = workflow.inputs[env_input].get("options")
        if isinstance(options, list) and options and target not in [str(o) for o in options]:
            return None
    elif not any(w in f"{workflow.stem} {workflow.name.lower()}" for w in TARGET_WORDS.get(target, (target,))):
        return None
    own = tuple(w.replace("-", "").replace("_", "").lower() for w in own_words)
    words: list[str] = []
    passed: list[str] = []
    variables: list[DeployVariable] = []
    left: list[str] = []
    for name, spec in workflow.inputs.items():
        default = spec.get("default")
        default_text = None if default is None or default == "" else str(default)
        squashed = name.lower().replace("-", "").replace("_", "")
        tag_like = _tag_like(name)
        if name == env_input:
            words.append(_word(name, target, False))
        elif spec.get("type") == "boolean" or not (tag_like or (spec.get("required") and default_text is None)):
            left.append(name)
            continue
        else:
            variable_name = _variable_name(name)
            if tag_like and any(w and w in squashed for w in own):
                variable = DeployVariable(variable_name, name, value="{tag}", workflow_default=default_text)
            else:
                variable = DeployVariable(variable_name, name, env=variable_name.upper(), workflow_default=default_text)
            variables.append(variable)
            words.append(_word(name, "{" + variable.name + "}", True))
        passed.append(name)
    command = " ".join(["gh", "workflow", "run", shlex.quote(workflow.file), *(f"-f {w}" for w in words)])
    script = None
    if tuple(passed) == FARAJALAND_INPUTS:
        script = (f"scripts/farajaland-deploy {shlex.quote(workflow.file)} {target} "
                  + " ".join("{" + v.name + "}" for v in variables))
    return DeployPlan(target, workflow.path, command, tuple(variables), tuple(left), workflow.timeout_minutes, script)


def _plan_rank(workflow: Workflow, target: str) -> tuple[int, int, int, str]:
    env_input = _env_input(workflow.inputs)
    options = workflow.inputs[env_input].get("options") if env_input else None
    explicit = isinstance(options, list) and target in [str(o) for o in options]
    return (0 if explicit else 1, 0 if workflow.stem == "deploy" else 1, len(workflow.stem), workflow.stem)


def plan_deploys(workflows: Iterable[Workflow], own_words: Iterable[str] = _OWN_WORDS) -> tuple[DeployPlan, ...]:
    """One plan per target (staging, production) from the best-fitting deploy workflow."""
    listed = list(workflows)
    plans: list[DeployPlan] = []
    for target in TARGET_WORDS:
        fitting = [(w, p) for w in listed if (p := plan_deploy(w, target, own_words)) is not None]
        if fitting:
            plans.append(min(fitting, key=lambda wp: _plan_rank(wp[0], target))[1])
    return tuple(plans)


# ------------------------------------------------------------------------------------------ detect


def detect(directory: Path) -> Detection:
    """Read the repository `directory` is in; defaults (with a finding that says so) when there is none.

    InputError (exit 2) in a shallow clone: its missing tags and branches would make every answer here wrong.
    """
    repo = _open(Path(directory))
    if repo is None:
        return Detection(None, findings=(Finding("repository", "none", f"{directory} is not in a git repository: "
                                                                       "the defaults are written"),))
    if repo.is_shallow():
        raise InputError(f"{repo.root} is a shallow clone: its tags and branches are incomplete, so init cannot "
                         "tell how releases are named; run `git fetch --unshallow --tags` (in CI: actions/checkout "
                         "with fetch-depth: 0), then `release init` again")
    findings: list[Finding] = []
    warnings: list[str] = []
    remote = "origin" if "origin" in repo.remotes else (sorted(repo.remotes)[0] if repo.remotes else None)
    branches = repo.branches()
    tags = repo.tags()

    tag_guess = infer_tag_format(tags)
    tag_format = tag_guess.format if tag_guess else DEFAULT_TAG_FORMAT
    if tag_guess:
        findings.append(Finding("version tags", tag_format, f"{tag_guess.count} tag{'s' if tag_guess.count != 1 else ''}"
                                                             f" such as {tag_guess.highest}"))
        if tag_guess.others:
            warnings.append(f"{len(tag_guess.others)} version tag(s) use another format (e.g. {tag_guess.others[-1]}); "
                            f"the tool reads only {tag_format} tags")
    else:
        findings.append(Finding("version tags", tag_format, "no version tags yet: the default"))

    branch_guess = infer_branch_format(branches)
    branch_format = branch_guess.format if branch_guess else DEFAULT_BRANCH_FORMAT
    if branch_guess:
        findings.append(Finding("release branches", branch_format,
                                f"{branch_guess.count} branch{'es' if branch_guess.count != 1 else ''} such as "
                                f"{branch_guess.highest}"))
        if branch_guess.note:
            warnings.append(branch_guess.note)
    else:
        findings.append(Finding("release branches", branch_format, "no release branches yet: the default"))

    production, more = _production_branch(repo, branches, tag_format, branch_format if branch_guess else None)
    findings.insert(0, production)
    warnings.extend(more)
    only_remote = [r.remote for r in branches.get(production.value, []) if r.remote is not None]
    if only_remote and all(r.remote is not None for r in branches[production.value]) and "origin" not in only_remote:
        warnings.append(f"{production.value} is only on remote {only_remote[0]}: the tool reads origin/"
                        f"{production.value} unless release.remote names {only_remote[0]}")
    default = _default_branch(repo, remote)
    if default:
        findings.insert(1, default)
        if default.value == production.value and default.value != DEFAULT_PRODUCTION:
            warnings.append(f"{production.value} is both the production branch and the default branch: "
                            f"`release promote` fast-forwards it to each release and refuses if it has moved on; "
                            "if development happens there, create a production branch and set "
                            "release.production_branch")
    if remote:
        findings.append(Finding("remote", remote, "left commented out in release.toml: set release.remote for "
                                                  "the tool to push the refs it moves"))

    workflows, notes = read_workflows(repo.root)
    warnings.extend(notes)
    # The repository's own name also marks its image input (an input "farajaland-image-tag" in opencrvs-farajaland);
    # short names are left out, as they would match inside unrelated input names.
    squashed_name = re.sub(r"[-_.]", "", repo.root.name.lower())
    own = (*_OWN_WORDS, *((squashed_name,) if len(squashed_name) >= 4 else ()))
    deploys = plan_deploys(workflows, own)
    for plan in deploys:
        key = "deploy" if plan.target == "staging" else "promote"
        findings.append(Finding(f"{plan.target} deploy", plan.workflow,
                                f"workflow_dispatch inputs: [targets.{plan.target}] {key} is written from them, "
                                "commented out until the target is filled in"))
    if workflows and not deploys:
        findings.append(Finding("deploy", "none", "deploy workflows found ("
                                + ", ".join(w.path for w in workflows) + ") but none offers staging or production"))
    return Detection(repo.root, production.value, branch_format, tag_format, default.value if default else None,
                     remote, deploys, tuple(findings), tuple(warnings))


# ------------------------------------------------------------------------------------------ render and write


def _toml(text: str) -> str:
    """A TOML basic string (the JSON escapes are valid TOML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def template_context(detection: Detection) -> dict[str, Any]:
    """The values release.toml.j2 fills, already written as TOML."""
    def plan(p: DeployPlan | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {"workflow": p.workflow, "command": _toml(p.command), "left": list(p.left_default),
                "script": _toml(p.script_command) if p.script_command else None,
                "timeout_s": p.timeout_minutes * 60 if p.timeout_minutes else None,
                "timeout_minutes": p.timeout_minutes}

    def comment(v: DeployVariable) -> str:
        text = f"-f {v.input}" + (": this repository's candidate tag" if v.value is not None else "")
        return text + (f" (the workflow's default: {v.workflow_default})" if v.workflow_default else "")

    return {
        "production_branch": _toml(detection.production_branch),
        "branch": _toml(detection.branch),
        "tag": _toml(detection.tag),
        "remote": _toml(detection.remote or "origin"),
        "detected": [f"{f.what}: {f.value} ({f.why})" for f in detection.findings] if detection.root else [],
        "staging_deploy": plan(detection.deploy_for("staging")),
        "production_promote": plan(detection.deploy_for("production")),
        "variables": [{"name": v.name, "value": v.toml(), "comment": comment(v)} for v in detection.variables()],
    }


def render_config(detection: Detection) -> str:
    """The commented release.toml for this detection; ConfigError if it would not load (a bug here, never shipped)."""
    from release.templating import template_env

    text = template_env().get_template("release.toml.j2").render(**template_context(detection))
    parse_config(tomllib.loads(text), Path(CONFIG_NAME))
    return text


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Written:
    """Where init wrote, whether it replaced a file, and what it read."""

    path: Path
    overwritten: bool
    detection: Detection
    text: str = field(repr=False, default="")


def config_path(directory: Path, *, force: bool) -> tuple[Path, bool]:
    """release.toml's path in `directory` and whether it exists; refuses before anything is read or written."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    path = directory / CONFIG_NAME
    existed = path.exists()
    if existed and not force:
        raise UsageError(f"{_display(path)} already exists; use --force to overwrite it")
    return path, existed


def write_config(directory: Path, *, force: bool = False) -> Written:
    """Read the repository `directory` is in and write a fitting release.toml there, atomically.

    Refuses (UsageError) when release.toml exists and `force` is not set, and (InputError) in a shallow clone;
    either way nothing is written. The text is checked to load before it replaces anything.
    """
    path, existed = config_path(directory, force=force)
    detection = detect(path.parent)
    text = render_config(detection)
    tmp = path.with_name(f".{CONFIG_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return Written(path, existed, detection, text)
