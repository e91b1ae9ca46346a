"""Workers: local ones under one master, or a master that remote workers join; the options and the parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from load.errors import LoadInputError
from load.histogram import Histogram
from load.runner import RunOptions, locust_command, merge_parts, validate, worker_command, worker_exec
from sandbox.auth import DEV_USERS_BY_ROLE
from sandbox.domain import DEFAULT_SYSTEM_SCOPES
from sandbox.process import CLIENT_SECRET_ENV, PASSWORD_ENV
from sandbox.settings import DEFAULT_CLIENT_ID

pytestmark = pytest.mark.unit

SECRETS = {CLIENT_SECRET_ENV: "s", PASSWORD_ENV: "p"}


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A loopback deployment profile (nothing listens: these tests stop before any request)."""
    profile = {"name": "sandbox", "gateway": "http://127.0.0.1:9", "register": "http://127.0.0.1:10",
               "config": "http://127.0.0.1:11", "identity": {"header": "X-Version", "path": "/ping"},
               "client": {"id": DEFAULT_CLIENT_ID, "secret_env": CLIENT_SECRET_ENV,
                          "scopes": list(DEFAULT_SYSTEM_SCOPES)},
               "users": {role: [{"username": u, "password_env": PASSWORD_ENV} for u in names]
                         for role, names in DEV_USERS_BY_ROLE.items()},
               "two_fa": False, "login_code_env": None,
               "locations": {"office": None, "health_facility": None, "administrative_area": None}}
    path = tmp_path / "target.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def opts(target: Path, **kw) -> RunOptions:
    return RunOptions(target_file=target, out=target.parent / "out", env=SECRETS, **kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"workers": 0}, "--workers: expected at least 1"),
    ({"master": True}, "--master: give --expect-workers N"),
    ({"master": True, "expect_workers": 2, "workers": 3}, "--master: remote workers join with `release load worker`"),
    ({"expect_workers": 2}, "--expect-workers: only with --master"),
    ({"master": True, "expect_workers": 2, "master_bind": "0.0.0.0"}, "--master-bind 0.0.0.0: not a loopback"),
    ({"workers": 3, "master_bind": "*"}, "--master-bind *: not a loopback"),
    ({"workers": 2, "master_port": 70000}, "--master-port 70000: expected a TCP port"),
    ({"workers": 2, "worker_wait_s": 0}, "--worker-wait: expected a positive number"),
])
def test_worker_options_that_cannot_make_a_run_are_refused(target, kw, message) -> None:
    with pytest.raises(LoadInputError, match=None) as err:
        validate(opts(target, **kw))
    assert str(err.value).startswith(message)


def test_a_master_may_open_its_worker_channel_to_other_hosts_only_when_asked(target) -> None:
    validate(opts(target, master=True, expect_workers=2, master_bind="0.0.0.0", allow_non_loopback=True))


def test_local_workers_run_one_master_that_waits_for_them(target) -> None:
    o = opts(target, workers=3)
    cmd = locust_command(o, "http://127.0.0.1:9", 41000)
    assert cmd[cmd.index("--master-bind-host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--master-bind-port") + 1] == "41000"
    assert cmd[cmd.index("--expect-workers") + 1] == "3" and "--master" in cmd and "--processes" not in cmd
    assert o.scenario()["workers"] == 3
    single = locust_command(opts(target), "http://127.0.0.1:9")
    assert "--master" not in single and "--expect-workers" not in single


def test_a_remote_master_counts_the_workers_it_expects(target) -> None:
    o = opts(target, master=True, expect_workers=4, worker_wait_s=90)
    cmd = locust_command(o, "http://127.0.0.1:9")
    assert cmd[cmd.index("--expect-workers") + 1] == "4" and cmd[cmd.index("--master-bind-port") + 1] == "5557"
    assert cmd[cmd.index("--expect-workers-max-wait") + 1] == "90" and o.scenario()["workers"] == 4


def test_a_worker_joins_the_master_with_the_same_scenario(target, tmp_path, monkeypatch) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    argv, env = worker_exec(target, "127.0.0.1", 6000, seed=7, weights="searcher=1", wait="0.2,0.4")
    assert argv == worker_command("127.0.0.1", 6000) and "--worker" in argv
    assert argv[argv.index("--master-host") + 1] == "127.0.0.1" and argv[argv.index("--master-port") + 1] == "6000"
    assert (env["CRVS_LOAD_SEED"], env["CRVS_LOAD_WAIT"]) == ("7", "0.2,0.4")
    assert env["CRVS_LOAD_WEIGHTS"] == "registrar=0,searcher=1,reader=0"
    assert "CRVS_LOAD_OUT" not in env
    _, with_out = worker_exec(target, "127.0.0.1", 6000, out=tmp_path / "w")
    assert with_out["CRVS_LOAD_OUT"] == str(tmp_path / "w")


@pytest.mark.parametrize(("host", "port", "kw", "message"), [
    ("10.0.0.5", 5557, {}, "--master-host '10.0.0.5': not a loopback address"),
    ("127.0.0.1", 0, {}, "--master-port 0: expected a TCP port"),
    ("127.0.0.1", 5557, {"weights": "nobody=1"}, "--weights: unknown persona"),
    ("127.0.0.1", 5557, {"wait": "3,1"}, "--wait '3,1'"),
])
def test_a_worker_with_bad_options_is_refused(target, monkeypatch, host, port, kw, message) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(LoadInputError) as err:
        worker_exec(target, host, port, **kw)
    assert str(err.value).startswith(message)


def _part(tmp_path: Path, name: str, doc: dict) -> Path:
    parts = tmp_path / "parts"
    parts.mkdir(exist_ok=True)
    (parts / name).write_text(json.dumps(doc), encoding="utf-8")
    return parts


def test_the_master_part_carries_merged_histograms_workers_and_their_health(tmp_path) -> None:
    parts = _part(tmp_path, "hist-master-10.json", {
        "procedures": {"ping": Histogram.of([1.0, 2.0, 2.0]).to_json()}, "failures": {"ping": 1},
        "workers": [{"index": 0, "pid": 11, "requests": 2}, {"index": 1, "pid": 12, "requests": 2}],
        "generators": [{"role": "master", "pid": 10}, {"role": "worker", "pid": 11}, {"role": "worker", "pid": 12}]})
    merged = merge_parts(parts, 1)
    assert merged.errors == [] and merged.histograms["ping"].n == 3 and merged.failures["ping"] == 1
    assert [w["pid"] for w in merged.workers] == [11, 12] and len(merged.generators) == 3


@pytest.mark.parametrize("doc", [{"procedures": {"ping": {"values_ms": [1.0]}}, "failures": {}},
                                 {"procedures": {}, "failures": {}, "generators": 5}])
def test_an_unreadable_part_is_an_error(tmp_path, doc) -> None:
    merged = merge_parts(_part(tmp_path, "hist-master-10.json", doc), 1)
    assert merged.errors and merged.errors[0].startswith("unreadable histogram part hist-master-10.json")


def test_a_missing_part_is_an_error(tmp_path) -> None:
    (tmp_path / "parts").mkdir()
    assert merge_parts(tmp_path / "parts", 1).errors == ["1 of 1 locust process(es) wrote no results (crashed?)"]
