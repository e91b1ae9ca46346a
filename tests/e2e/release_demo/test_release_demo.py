"""`release demo` end to end: the first release is promoted, the slower second one and the third one (whose migration
drops the date of death) are blocked, nothing is left running."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _sandboxes_running_under(path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "sandbox" in line and str(path) in line]


def _deaths_with_a_date_of_death(backup) -> int:
    """Counted with SQL from production's backup, not by the tool under test."""
    db = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        return db.execute("select count(*) from event where type = 'death' and "
                          "json_extract(declaration, '$.\"eventDetails.date\"') is not null").fetchone()[0]
    finally:
        db.close()


def test_release_demo_promotes_then_blocks_a_search_slowdown(tmp_path, clean_env):
    workdir = tmp_path / "demo"
    env = dict(clean_env, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, "-m", "release.cli.main", "demo", "--workdir", str(workdir), "--json",
                           "--keep"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    prepares = [s for s in data["steps"] if s["step"] == "prepare"]
    promotes = [s for s in data["steps"] if s["step"] == "promote"]
    assert prepares[0]["version"] == "1.1.0" and prepares[0]["gates"] == {"regression": "PASSED", "load": "PASSED",
                                                                         "rehearsal": "PASSED"}
    assert promotes[0]["outcome"] == "PROMOTED"
    assert prepares[1]["version"] == "1.2.0" and prepares[1]["gates"]["load"] == "FAILED"
    assert "event.search" in prepares[1]["load_reason"]
    assert promotes[1]["outcome"] == "BLOCKED" and "load: FAILED" in promotes[1]["message"]
    # The third candidate: search is fast again, but its migration drops every death's date of death.
    assert prepares[2]["tag"] == "v1.2.0-rc.2"
    assert prepares[2]["gates"]["load"] == "PASSED" and prepares[2]["gates"]["rehearsal"] == "FAILED"
    assert promotes[2]["outcome"] == "BLOCKED" and "rehearsal: FAILED" in promotes[2]["message"]
    deaths = _deaths_with_a_date_of_death(workdir / "run" / "production-backup.db")
    assert deaths > 0
    assert f"eventDetails.date (date of death): {deaths} of {deaths} records lost it" in promotes[2]["message"]
    repo = workdir / "crvs-core"

    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()

    assert git("rev-parse", "v1.1.0^{commit}") == git("rev-parse", "production")
    assert git("rev-parse", "production") == git("rev-parse", "v1.1.0-rc.1^{commit}")
    assert "v1.2.0" not in git("tag", "--list").split()
    # The demo's targets are farajaland-shaped deployments: three hosts, named users, a UUID system client.
    from release.config import is_uuid, load_config

    for target in load_config(repo / "release.toml").targets.values():
        assert target.register and target.config and len({target.gateway, target.register, target.config}) == 3
        assert is_uuid(target.client_id or "") and target.client_secret_env == "CRVS_SANDBOX_CLIENT_SECRET"
        assert {"hospital_clerk", "registration_agent", "local_registrar"} <= set(target.users)
        assert len(target.users["local_registrar"]) >= 2
    status = json.loads(subprocess.run([sys.executable, "-m", "release.cli.main", "status", "1.1.0", "--json"],
                                       cwd=repo, env=env, capture_output=True, text=True, timeout=300).stdout)
    versions = {g["gate"]: g["evidence"]["target_version"] for g in status["gates"] if g["evidence"]}
    # the X-Version each gate saw
    assert versions == {"regression": "1.1.0-rc.1", "load": "1.1.0-rc.1", "rehearsal": "1.1.0-rc.1"}
    for report in data["reports"].values():
        assert os.path.isfile(report)
    with open(data["reports"]["second"], encoding="utf-8") as second:
        assert "BLOCKED" in second.read()
    assert not list((workdir / "run").glob("*.pid"))
    assert _sandboxes_running_under(workdir) == []

    # The change record of the promoted release, in all three formats, from the demo's real ledger and evidence.
    def release_cli(*args):
        return subprocess.run([sys.executable, "-m", "release.cli.main", *args], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=300)

    outputs = {}
    for fmt in ("html", "md", "pdf"):
        out = tmp_path / f"record.{fmt}"
        rendered = release_cli("report", "1.1.0", "--format", fmt, "--out", str(out))
        assert rendered.returncode == 0, rendered.stderr
        outputs[fmt] = out
    html = outputs["html"].read_text(encoding="utf-8")
    assert "1.1.0" in html and html.count("<svg") >= 2, "the HTML record carries its charts inline"
    assert 'src="http' not in html and 'href="http' not in html, "the HTML record must open standalone"
    assert "event.search" in outputs["md"].read_text(encoding="utf-8")
    text = subprocess.run(["pdftotext", str(outputs["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "1.1.0" in text and "event.search" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(outputs["pdf"]),
                    str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png")), "the PDF renders to an image"
