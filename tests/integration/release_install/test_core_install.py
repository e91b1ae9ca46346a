"""`pip install .` without extras: the core commands work, and what needs an extra exits 2 naming its pip line.

One fresh venv per module (python -m venv, then pip install of a copy of this working tree, not editable, no
extras), so the tests run the installed wheel and none of the heavy packages. A copy, so that the build writes
no build/ or egg-info into the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.workflow.sandbox_deploy import SANDBOX_DEV_SECRETS, SandboxPorts, sandbox_target_toml
from tests.conftest import REPO_ROOT, CliResult, free_port
from tests.gitrepo import Commit, GitRepoHandle, make_repo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: What pyproject.toml's [tool.setuptools] packs, plus the files the build reads.
SOURCES = ("pyproject.toml", "README.md", "release", "regression", "load", "sandbox", "crvs_client")
#: The heavy packages the extras bring; none may be in a core install.
HEAVY = ("locust", "gevent", "scipy", "numpy", "matplotlib", "weasyprint", "playwright", "psycopg", "rapidfuzz")
PREPARER = "rm@example.org"


@dataclass(frozen=True)
class CoreVenv:
    """A venv with crvs-release installed without extras."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def release(self) -> Path:
        return self.path / "bin" / "release"


def _env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT",
            "PIP_DISABLE_PIP_VERSION_CHECK", "SSL_CERT_FILE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if k in keep}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", NO_COLOR="1", GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL=os.devnull)
    return env


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreVenv]:
    """python -m venv, then pip install <copy of the repository> with no extras (module-scoped: one install)."""
    base = tmp_path_factory.mktemp("core-install")
    src = base / "src"
    for name in SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, src / name)
    venv = CoreVenv(base / "venv")
    env = _env(base / "home")
    subprocess.run([sys.executable, "-m", "venv", str(venv.path)], check=True, env=env, timeout=300)
    # --no-compile: the commands below compile only what they import, which is faster than all of it up front.
    proc = subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", "--no-compile", str(src)], env=env,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield venv


def run(venv: CoreVenv, *args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """Run the installed `release` (never this checkout: no PYTHONPATH) in cwd."""
    full = _env(cwd.parent / "home")
    full.update(RELEASE_ACTOR=PREPARER, GIT_AUTHOR_NAME="Release Manager", GIT_AUTHOR_EMAIL=PREPARER,
                GIT_COMMITTER_NAME="Release Manager", GIT_COMMITTER_EMAIL=PREPARER, **(env or {}))
    proc = subprocess.run([str(venv.release), *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=300, check=False)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def release_toml(staging: SandboxPorts) -> str:
    """A staging target (never started: nothing here may reach it) and a load gate."""
    return f'''[release]
production_branch = "production"

{sandbox_target_toml("staging", staging)}
[gates.load]
kind = "locust"
target = "staging"
users = 5
duration = "10s"
'''


@pytest.fixture
def repo(tmp_path: Path) -> GitRepoHandle:
    """v1.0.0 on production, then a feat on main; release.toml committed."""
    ports = sorted({free_port() for _ in range(3)})
    while len(ports) < 3:
        ports = sorted({*ports, free_port()})
    files = {"release.toml": release_toml(SandboxPorts(*ports[:3])), ".gitignore": ".release/\n"}
    return make_repo(tmp_path / "crvs", [Commit("chore: initial import", files=files, author=PREPARER),
                                         Commit("feat(search): search by registration number")],
                     tags={"v1.0.0": 0}, production_branch_at=0)


def assert_names_extra(result: CliResult, extra: str) -> None:
    """Exit 2 with one line naming `pip install 'crvs-release[extra]'`, and no traceback."""
    assert result.exit_code == 2, result
    assert f"pip install 'crvs-release[{extra}]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_core_install_has_none_of_the_heavy_packages(core_venv, tmp_path):
    probe = f"import importlib.util as u; print(' '.join(m for m in {HEAVY!r} if u.find_spec(m)))"
    found = subprocess.run([str(core_venv.python), "-c", probe], capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.split()
    assert found == []
    # Every command module (what `release X` imports first) and what promote, serve and the smoke check run.
    imports = ("import importlib; from release.cli.main import COMMANDS; "
               "[importlib.import_module(m.split(':')[0]) for m in COMMANDS.values()]; "
               "import release.workflow.promote, release.web.app, release.regression_suite, regression.plugin, "
               "crvs_client, release.report.record")
    proc = subprocess.run([str(core_venv.python), "-c", imports], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    version = run(core_venv, "--version", cwd=tmp_path)
    assert version.exit_code == 0 and "0.1.0" in version.stdout, version


def test_release_version_works_on_the_core_install(core_venv, repo):
    result = run(core_venv, "version", cwd=repo.path)
    assert result.exit_code == 0, result
    assert "production: 1.0.0 (v1.0.0)" in result.stdout
    assert "next:       1.1.0 (minor bump)" in result.stdout


def test_prepare_with_a_load_gate_refuses_before_cutting_anything(core_venv, repo):
    refs = repo.refs()
    result = run(core_venv, "prepare", cwd=repo.path, env=SANDBOX_DEV_SECRETS)
    assert_names_extra(result, "load")
    assert "gate load (locust)" in result.stderr
    assert repo.refs() == refs  # no rc tag, no release branch


def test_gate_run_load_names_the_extra_and_records_no_run(core_venv, repo):
    cut = run(core_venv, "prepare", "--no-gates", "--no-deploy", cwd=repo.path)
    assert cut.exit_code == 0, cut
    assert (repo.path / ".release" / "reports" / "v1.1.0-rc.1" / "report.html").is_file()  # HTML without charts
    result = run(core_venv, "gate", "run", "load", cwd=repo.path, env=SANDBOX_DEV_SECRETS)
    assert_names_extra(result, "load")
    status = run(core_venv, "status", "1.1.0", "--json", cwd=repo.path)
    assert status.exit_code == 1, status  # blocked: the gate never ran
    assert '"state": "PENDING"' in status.stdout and '"evidence": null' in status.stdout
    md = run(core_venv, "report", "1.1.0", "--format", "md", cwd=repo.path)
    assert md.exit_code == 0, md
    assert_names_extra(run(core_venv, "report", "1.1.0", "--format", "pdf", cwd=repo.path), "pdf")


def test_load_and_sandbox_commands_name_their_extra(core_venv, tmp_path):
    profile = tmp_path / "target.json"
    profile.write_text("{}", encoding="utf-8")
    assert_names_extra(run(core_venv, "load", "run", "--target-file", str(profile), "--out", str(tmp_path / "o"),
                           cwd=tmp_path), "load")
    assert_names_extra(run(core_venv, "sandbox", "serve", cwd=tmp_path), "sandbox")
    helped = run(core_venv, "sandbox", "--help", cwd=tmp_path)
    assert helped.exit_code == 0 and "serve" in helped.stdout, helped
    assert not (tmp_path / "o").exists()


def test_the_html_record_says_how_to_get_its_charts(core_venv, tmp_path):
    # Load evidence rendered on a core install (e.g. imported from a CI job that had [load]): no matplotlib.
    code = ("import json; from release.report.charts import record_charts; "
            "block = {'gate': 'load', 'load': {'available': True, 'procedures': "
            "[{'procedure': 'event.search', 'p95_ms': 12.0}], 'cdfs': []}}; "
            "print(json.dumps(record_charts([block])))")
    proc = subprocess.run([str(core_venv.python), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    charts = json.loads(proc.stdout)
    assert charts["load"]["cdfs"] == [] and charts["load"]["bars"] is None and charts["load"]["slowdown"] is None
    assert "pip install 'crvs-release[charts]'" in charts["load"]["missing"] and "<svg" not in charts["load"]["missing"]
