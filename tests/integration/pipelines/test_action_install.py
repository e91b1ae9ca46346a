"""`python -m build` makes a correct sdist and wheel, and the composite action's own install step puts that wheel
into a clean venv where `release` runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "action.yml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def install_step() -> str:
    """The shell of action.yml's install step, exactly as GitHub runs it."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "install"]
    assert step["shell"] == "bash"
    return step["run"]


def copy_source(dest: Path) -> Path:
    """The working tree's files that git would keep (tracked, or new and not ignored): no .venv, no build output."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist, and a wheel built from that sdist, as `python -m build` makes them."""
    base = tmp_path_factory.mktemp("dist")
    source = copy_source(base / "src")
    out = base / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"python -m build failed (pip install build?):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return out


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    """The machine's environment with the venv first on PATH, as actions/setup-python leaves it."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def test_build_makes_an_sdist_and_a_wheel_with_the_package_data(dist: Path):
    (sdist,) = dist.glob(f"crvs_release-{VERSION}.tar.gz")
    (wheel,) = dist.glob(f"crvs_release-{VERSION}-py3-none-any.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "release/templates/release.toml.j2", "release/cli/main.py"} <= in_sdist
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
        entry_points = whl.read(f"crvs_release-{VERSION}.dist-info/entry_points.txt").decode()
    assert "release = release.cli.main:main" in entry_points
    for packaged in ("release/templates/release.toml.j2", "release/templates/report.html.j2",
                     "release/ledger/migrations/env.py", "regression/plugin.py", "crvs_client/__init__.py"):
        assert packaged in in_wheel, f"{packaged} is missing from the wheel"
    assert any(n.startswith("release/ledger/migrations/versions/") for n in in_wheel)
    assert not any(n.startswith(("tests/", "pipelines/", "benchmarks/")) for n in in_wheel)


def test_action_install_step_installs_the_wheel_in_a_clean_venv(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # GITHUB_ACTION_PATH is the action's checkout on a runner; here it names the built wheel, which pip installs
    # the same way (a path, with the extras appended when there are any). Core only: its deps come from PyPI.
    installed = run_bash(install_step(), venv_env(venv, GITHUB_ACTION_PATH=str(wheel), EXTRAS=""), tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    release = venv / "bin" / "release"
    version = subprocess.run([str(release), "--version"], capture_output=True, text=True, timeout=60,
                             env=venv_env(venv), cwd=tmp_path, check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"release, version {VERSION}"
    # The venv's own files, not this checkout: the package resolves inside the venv.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import release; print(release.__file__)"],
                           capture_output=True, text=True, env=venv_env(venv), cwd=tmp_path, check=True)
    assert Path(where.stdout.strip()).is_relative_to(venv)


def test_action_install_step_refuses_extras_that_are_not_names(tmp_path: Path):
    venv = tmp_path / "no-venv"  # nothing is installed: the step stops before pip runs
    bad = run_bash(install_step(), venv_env(venv, GITHUB_ACTION_PATH=str(tmp_path), EXTRAS="load;rm -rf ."),
                   tmp_path)
    assert bad.returncode == 2
    assert "extras must be comma-separated names" in bad.stdout
