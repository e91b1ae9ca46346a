"""A deploy script for throwaway repositories (the demo, the tests): (re)start a sandbox per environment.

The script is written into the repository as ``scripts/deploy``; a target's deploy command is then
``scripts/deploy ENV {version} {commit}``. It reads the environment's three ports (gateway, register, country
config) and database from ``<run_dir>/<ENV>.json``, and the fault profile from ``deploy/latency.json`` (and
``deploy/faults.json``: ``slowdown`` and ``tail``, as the sandbox's flags) *as committed at {commit}* (so a commit
that ships a slowdown really deploys one), stops the previous sandbox of that environment (pid file), starts a
new one with ``--app-version VERSION`` (what the gateway reports in ``X-Version``), waits for the gateway's ``/ping`` and exits 0. Like a real deploy hook it prints what it
deployed as ``RELEASE_IMAGE_<NAME>=<image:tag>`` lines, which ``release prepare`` keeps as evidence. Before it
starts the sandbox it applies the schema migration the commit ships: ``deploy/migration.json`` at {commit} names a
revision for ``sandbox migrate`` (as a candidate that ships the date-of-death defect does; no file, no
migration). ``scripts/deploy --migrate DB COMMIT`` does only that, on any database: the migration rehearsal
gate's command. Run state
(pid files, logs, databases) lives in ``run_dir``, outside the repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = '''#!{python}
"""Deploy a candidate to a local sandbox environment: scripts/deploy ENV VERSION COMMIT."""
import json, os, signal, subprocess, sys, time, urllib.request
from pathlib import Path

RUN_DIR = Path({run_dir!r})


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop(pidfile):
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    pidfile.unlink(missing_ok=True)


def latency_at(commit):
    proc = subprocess.run(["git", "show", commit + ":deploy/latency.json"], capture_output=True, text=True)
    if proc.returncode != 0:
        return {{}}
    return json.loads(proc.stdout or "{{}}")


def faults_at(commit):
    """deploy/faults.json at the commit: {{"slowdown": {{PROC: 1.2}}, "tail": {{PROC: "0.05:+50"}}}} (optional)."""
    proc = subprocess.run(["git", "show", commit + ":deploy/faults.json"], capture_output=True, text=True)
    if proc.returncode != 0:
        return {{}}
    return json.loads(proc.stdout or "{{}}")


def migrate(db, commit):
    """Apply the schema migration the commit ships: deploy/migration.json names its revision (none: no migration)."""
    proc = subprocess.run(["git", "show", commit + ":deploy/migration.json"], capture_output=True, text=True)
    if proc.returncode != 0:
        print("no schema migration in %s" % commit[:12])
        return 0
    target = json.loads(proc.stdout or "{{}}").get("to") or "head"
    argv = [{python!r}, "-m", "sandbox", "migrate", "--db", db, "--to", target]
    return subprocess.run(argv, stdin=subprocess.DEVNULL).returncode


def main(env, version, commit):
    conf = json.loads((RUN_DIR / (env + ".json")).read_text())
    pidfile = RUN_DIR / (env + ".pid")
    stop(pidfile)
    if migrate(conf["db"], commit) != 0:
        print("the schema migration of %s failed; not started" % env, file=sys.stderr)
        return 1
    argv = [{python!r}, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(conf["port"]),
            "--register-port", str(conf["register_port"]), "--config-port", str(conf["config_port"]),
            "--db", conf["db"], "--app-version", version]
    for proc_name, ms in sorted(latency_at(commit).items()):
        argv += ["--latency", proc_name + "=" + str(ms)]
    for flag, values in sorted(faults_at(commit).items()):  # the sandbox refuses any other key or a bad value
        for proc_name, value in sorted(values.items()):
            argv += ["--" + flag, proc_name + "=" + str(value)]
    log = open(RUN_DIR / (env + ".log"), "ab")
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True)
    pidfile.write_text(str(child.pid))
    url = "http://127.0.0.1:%d/ping" % conf["port"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print("sandbox for %s exited with %s" % (env, child.returncode), file=sys.stderr)
            return 1
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    print("deployed %s (%s) to %s on port %d" % (version, commit[:12], env, conf["port"]))
                    print("RELEASE_IMAGE_CORE=crvs-sandbox-core:%s" % version)
                    print("RELEASE_IMAGE_COUNTRYCONFIG=crvs-sandbox-farajaland:%s" % commit[:12])
                    return 0
        except OSError:
            time.sleep(0.2)
    print("sandbox for %s did not answer /ping" % env, file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--migrate":  # scripts/deploy --migrate DB COMMIT: the rehearsal's
        sys.exit(migrate(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 4:
        print("usage: scripts/deploy ENV VERSION COMMIT | scripts/deploy --migrate DB COMMIT", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
'''


def deploy_script_text(run_dir: Path) -> str:
    """The text of scripts/deploy for sandboxes whose state lives in run_dir."""
    return _SCRIPT.format(python=sys.executable, run_dir=str(run_dir))


def write_environment(run_dir: Path, env: str, port: int, register_port: int, config_port: int) -> None:
    """Describe one sandbox environment (its three ports and its database) for the deploy script."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{env}.json").write_text(json.dumps({"port": port, "register_port": register_port,
                                                     "config_port": config_port, "db": str(run_dir / f"{env}.db")}),
                                         encoding="utf-8")


@dataclass(frozen=True)
class SandboxPorts:
    """The three loopback ports of one sandbox environment."""

    gateway: int
    register: int
    config: int

    def urls(self) -> dict[str, str]:
        """gateway, register and config URLs."""
        return {"gateway": f"http://127.0.0.1:{self.gateway}", "register": f"http://127.0.0.1:{self.register}",
                "config": f"http://127.0.0.1:{self.config}"}


#: The sandbox's dev accounts (docs/wire-contract.md section 3): for throwaway sandboxes only, never elsewhere.
SANDBOX_CLIENT_ID = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"
SANDBOX_SECRET_ENV = "CRVS_SANDBOX_CLIENT_SECRET"
SANDBOX_PASSWORD_ENV = "CRVS_SANDBOX_PASSWORD"
SANDBOX_DEV_SECRETS = {SANDBOX_SECRET_ENV: "release-gate-secret", SANDBOX_PASSWORD_ENV: "test"}


def sandbox_target_toml(name: str, ports: SandboxPorts, *, deploy: str | None = None,
                        version_timeout_s: float = 60) -> str:
    """A farajaland-shaped [targets.NAME] table for a local sandbox: three URLs, named users, a UUID client."""
    urls = ports.urls()
    lines = [f"[targets.{name}]",
             f'gateway = "{urls["gateway"]}"',
             f'register = "{urls["register"]}"',
             f'config = "{urls["config"]}"',
             f'client_id = "{SANDBOX_CLIENT_ID}"',
             f'client_secret_env = "{SANDBOX_SECRET_ENV}"',
             'client_scopes = ["type=record.create", "type=record.read", "type=record.search", "type=record.notify"]',
             "two_fa = false",
             f'users.hospital_clerk = {{ username = "k.bwalya", password_env = "{SANDBOX_PASSWORD_ENV}" }}',
             f'users.registration_agent = {{ username = "f.katongo", password_env = "{SANDBOX_PASSWORD_ENV}" }}',
             "users.local_registrar = [",
             *[f'  {{ username = "{u}", password_env = "{SANDBOX_PASSWORD_ENV}" }},'
               for u in ("k.mweene", "k.mwale", "d.sakala")],
             "]"]
    if deploy:
        lines.append(f'deploy = "{deploy}"')
    lines.append(f"version_timeout_s = {version_timeout_s:g}")
    return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    """True while pid runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def stop_all(run_dir: Path, timeout_s: float = 15.0) -> list[int]:
    """Stop every sandbox the deploy script started under run_dir (SIGTERM, then SIGKILL); returns their pids."""
    stopped = []
    for pidfile in sorted(Path(run_dir).glob("*.pid")):
        try:
            pid = int(pidfile.read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pidfile.unlink(missing_ok=True)
            continue
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
        stopped.append(pid)
    return stopped
