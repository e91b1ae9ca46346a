"""A deploy script for throwaway repositories (the demo, the tests): (re)start a sandbox per environment.

The script is written into the repository as ``scripts/deploy``; a target's deploy command is then
``scripts/deploy ENV {version} {commit}``. It reads the environment's port and database from
``<run_dir>/<ENV>.json``, and the fault profile from ``deploy/latency.json`` *as committed at {commit}* (so a
commit that ships a slowdown really deploys one), stops the previous sandbox of that environment (pid file),
starts a new one with ``--app-version``/``--app-commit``, waits for ``/ping`` and exits 0. Run state (pid files,
logs, databases) lives in ``run_dir``, outside the repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
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


def main(env, version, commit):
    conf = json.loads((RUN_DIR / (env + ".json")).read_text())
    pidfile = RUN_DIR / (env + ".pid")
    stop(pidfile)
    argv = [{python!r}, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(conf["port"]),
            "--db", conf["db"], "--app-version", version, "--app-commit", commit]
    for proc_name, ms in sorted(latency_at(commit).items()):
        argv += ["--latency", proc_name + "=" + str(ms)]
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
                    return 0
        except OSError:
            time.sleep(0.2)
    print("sandbox for %s did not answer /ping" % env, file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: scripts/deploy ENV VERSION COMMIT", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
'''


def deploy_script_text(run_dir: Path) -> str:
    """The text of scripts/deploy for sandboxes whose state lives in run_dir."""
    return _SCRIPT.format(python=sys.executable, run_dir=str(run_dir))


def write_environment(run_dir: Path, env: str, port: int) -> None:
    """Describe one sandbox environment (port, database) for the deploy script."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{env}.json").write_text(json.dumps({"port": port, "db": str(run_dir / f"{env}.db")}),
                                         encoding="utf-8")


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
