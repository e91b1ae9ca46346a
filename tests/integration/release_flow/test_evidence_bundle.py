"""Evidence carried between ledgers as a signed bundle: same verdict after import; tampering refused."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.integration.release_flow.conftest import ReleaseRepo, clone_release_repo, give_all_decisions

pytestmark = pytest.mark.integration
KEY = {"RELEASE_EVIDENCE_KEY": "a-shared-secret-of-some-length"}


def fresh_copy(source: ReleaseRepo, dest: Path) -> ReleaseRepo:
    """The same repository and sandboxes, with no ledger and no evidence."""
    copy = clone_release_repo(source, dest)
    shutil.rmtree(copy.path / ".release")
    return copy


def status(repo: ReleaseRepo) -> tuple[int, dict]:
    result = repo.cli("status", "1.1.0", "--json")
    return result.exit_code, json.loads(result.stdout)


def gate_states(data: dict) -> dict[str, str]:
    return {g["gate"]: g["state"] for g in data["gates"]}


def rewrite_member(bundle: Path, out: Path, name_part: str, change) -> None:
    with tarfile.open(bundle, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()
            if name_part in member.name:
                data = change(data)
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


@pytest.fixture
def approved(candidate: ReleaseRepo) -> ReleaseRepo:
    give_all_decisions(candidate)
    return candidate


def test_export_import_into_fresh_ledger_gives_same_verdict(approved: ReleaseRepo, tmp_path: Path):
    before_code, before = status(approved)
    assert before_code == 0, before["blocking_reasons"]
    bundle = tmp_path / "bundle.tar.gz"
    exported = approved.cli("evidence", "export", "1.1.0", "--out", str(bundle), env=KEY)
    assert exported.exit_code == 0, exported.stderr

    other = fresh_copy(approved, tmp_path / "other")
    assert other.cli("status", "1.1.0", env=KEY).exit_code == 2  # unknown release before import
    imported = other.cli("evidence", "import", str(bundle), "--json", env=KEY)
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)["gate_runs"] >= 1

    after_code, after = status(other)
    assert after_code == before_code
    assert gate_states(after) == gate_states(before)
    assert other.cli("audit", "verify").exit_code == 0

    again = other.cli("evidence", "import", str(bundle), "--json", env=KEY)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["gate_runs"] == 0, "re-importing must not duplicate evidence"


@pytest.mark.parametrize("tamper", ["artifact", "manifest", "wrong-key", "not-a-bundle"])
def test_tampered_bundle_is_refused_and_nothing_imported(approved: ReleaseRepo, tmp_path: Path, tamper: str):
    bundle = tmp_path / "bundle.tar.gz"
    assert approved.cli("evidence", "export", "1.1.0", "--out", str(bundle), env=KEY).exit_code == 0
    bad = tmp_path / "bad.tar.gz"
    env = dict(KEY)
    if tamper == "artifact":
        rewrite_member(bundle, bad, "artifacts/", lambda d: d.replace(b"testcase", b"testcasE", 1) + b" ")
    elif tamper == "manifest":
        rewrite_member(bundle, bad, "manifest.json", lambda d: d.replace(b'"FAILED"', b'"PASSED"').replace(
            b'"state":"PASSED"', b'"state":"PASSED" ', 1))
    elif tamper == "wrong-key":
        shutil.copy(bundle, bad)
        env = {"RELEASE_EVIDENCE_KEY": "another-secret-of-some-length"}
    else:
        bad.write_bytes(b"garbage")

    other = fresh_copy(approved, tmp_path / "other")
    result = other.cli("evidence", "import", str(bad), env=env)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert other.cli("status", "1.1.0").exit_code == 2, "a refused bundle must import nothing"


def test_export_without_key_is_a_usage_error(approved: ReleaseRepo, tmp_path: Path):
    result = approved.cli("evidence", "export", "1.1.0", "--out", str(tmp_path / "b.tar.gz"))
    assert result.exit_code == 2
    assert "RELEASE_EVIDENCE_KEY" in result.stderr
    assert not (tmp_path / "b.tar.gz").exists()
