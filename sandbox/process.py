"""Run a sandbox server as a subprocess on free loopback ports (for tests, the demo and the regression plugin)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from sandbox.auth import DEV_USERS_BY_ROLE
from sandbox.cli import CONFIG_PREFIX, LISTENING_PREFIX, REGISTER_PREFIX
from sandbox.domain import DEFAULT_SYSTEM_SCOPES
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEV_PASSWORD = "test"
CLIENT_SECRET_ENV = "CRVS_SANDBOX_CLIENT_SECRET"
PASSWORD_ENV = "CRVS_SANDBOX_PASSWORD"
LOGIN_CODE_ENV = "CRVS_SANDBOX_LOGIN_CODE"


class SandboxStartError(RuntimeError):
    """The sandbox process died or did not answer /ping before the deadline."""


class SandboxProcess:
    """A sandbox server subprocess; a context manager that starts it and stops it (SIGTERM, then SIGKILL).

    `url` and `gateway_url` are the gateway, `register_url` the register host (REST under /api, the web client),
    `config_url` the country config host.
    """

    def __init__(self, db: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 register_port: int = 0, config_port: int = 0,
                 version: str = "2.0.0-sandbox", commit: str = "0" * 40, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, latency: dict[str, float] | None = None,
                 error_rate: dict[str, float] | None = None, defects: list[str] | None = None,
                 crash_after: int | None = None, seed_records: int = 0, seed: int = 1, token_ttl: int | None = None,
                 auth_rate_limit: int | None = None, async_confirm: float | None = None,
                 login_code: str | None = None, log_path: Path | None = None, startup_timeout: float = 30.0,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        """`token_ttl` sets both token lifetimes; `login_code` turns 2FA on with that code."""
        self.host, self.port = host, port
        self.register_port, self.config_port = register_port, config_port
        self.auth_rate_limit, self.async_confirm = auth_rate_limit, async_confirm
        self.login_code = login_code
        self.version, self.commit = version, commit
        self.client_id, self.client_secret = client_id, client_secret
        self.latency, self.error_rate = dict(latency or {}), dict(error_rate or {})
        self.defects, self.crash_after = list(defects or []), crash_after
        self.seed_records, self.seed, self.token_ttl = seed_records, seed, token_ttl
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        self._tmpdir: Path | None = None
        if db is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="crvs-sandbox-"))
            db = self._tmpdir / "sandbox.db"
        self.db = str(db)
        if log_path is None:
            if self._tmpdir is None:
                self._tmpdir = Path(tempfile.mkdtemp(prefix="crvs-sandbox-"))
            log_path = self._tmpdir / "sandbox.log"
        self.log_path = Path(log_path)
        self.url = ""  # the gateway, as gateway_url
        self.gateway_url = self.register_url = self.config_url = ""
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        self._log_offset = 0

    def command(self) -> list[str]:
        """The argv that starts the server."""
        argv = [sys.executable, "-m", "sandbox", "serve", "--host", self.host, "--port", str(self.port),
                "--register-port", str(self.register_port), "--config-port", str(self.config_port),
                "--db", self.db, "--client-id", self.client_id, "--client-secret", self.client_secret,
                "--app-version", self.version, "--app-commit", self.commit]
        if self.token_ttl is not None:
            argv += ["--token-ttl", str(self.token_ttl), "--system-token-ttl", str(self.token_ttl)]
        if self.auth_rate_limit is not None:
            argv += ["--auth-rate-limit", str(self.auth_rate_limit)]
        if self.async_confirm is not None:
            argv += ["--async-confirm", str(self.async_confirm)]
        if self.login_code is not None:
            argv += ["--two-fa", "--dev-code", self.login_code]
        for name, ms in self.latency.items():
            argv += ["--latency", f"{name}={ms}"]
        for name, rate in self.error_rate.items():
            argv += ["--error-rate", f"{name}={rate}"]
        for defect in self.defects:
            argv += ["--defect", defect]
        if self.crash_after is not None:
            argv += ["--crash-after", str(self.crash_after)]
        return argv + self.extra_args

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def log_text(self) -> str:
        """Everything the server printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _seed(self) -> None:
        argv = [sys.executable, "-m", "sandbox", "seed", "--db", self.db, "--records", str(self.seed_records),
                "--seed", str(self.seed), "--json"]
        done = subprocess.run(argv, env=self._env(), capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SandboxStartError(f"seeding failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> SandboxProcess:
        """Start the server and wait until /ping answers; SandboxStartError with the log tail if not."""
        if self.seed_records:
            self._seed()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.url = self.gateway_url = self.register_url = self.config_url = ""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self._log_file = log
        self._proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self._proc.pid
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                tail = self._log_tail()
                self.stop()
                raise SandboxStartError(f"sandbox exited with code {code} during start-up:\n{tail}")
            if not self.url:
                self._read_urls()
            if self.url:
                try:
                    if httpx.get(f"{self.url}/ping", timeout=2.0).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        tail = self._log_tail()
        self.stop()
        raise SandboxStartError(f"sandbox did not answer /ping within {self.startup_timeout:.0f}s:\n{tail}")

    def _read_urls(self) -> None:
        """Take the three URLs from the start-up lines; `url` is set only once all three are known."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                text = handle.read().decode(errors="replace")
        except OSError:
            return
        found: dict[str, str] = {}
        for line in text.splitlines():
            for key, prefix in (("gateway", LISTENING_PREFIX), ("register", REGISTER_PREFIX),
                                ("config", CONFIG_PREFIX)):
                if line.startswith(prefix):
                    found[key] = line[len(prefix):].strip()
        if len(found) == 3:
            self.gateway_url, self.register_url, self.config_url = found["gateway"], found["register"], found["config"]
            self.url = self.gateway_url

    def profile(self, name: str = "sandbox") -> dict[str, Any]:
        """This sandbox as a deployment profile (docs/wire-contract.md section 2); secrets named by env var."""
        if not self.url:
            raise SandboxStartError("the sandbox is not running: start it before asking for its profile")
        return {
            "name": name,
            "gateway": self.gateway_url,
            "register": self.register_url,
            "config": self.config_url,
            "identity": {"header": "X-Version", "path": "/ping"},
            "client": {"id": self.client_id, "secret_env": CLIENT_SECRET_ENV, "scopes": list(DEFAULT_SYSTEM_SCOPES)},
            "users": {role: [{"username": u, "password_env": PASSWORD_ENV} for u in names]
                      for role, names in DEV_USERS_BY_ROLE.items()},
            "two_fa": self.login_code is not None,
            "login_code_env": LOGIN_CODE_ENV if self.login_code is not None else None,
            "locations": {"office": None, "health_facility": None, "administrative_area": None},
        }

    def profile_env(self) -> dict[str, str]:
        """The env vars `profile()` names, with this sandbox's dev secrets."""
        env = {CLIENT_SECRET_ENV: self.client_secret, PASSWORD_ENV: DEV_PASSWORD}
        if self.login_code is not None:
            env[LOGIN_CODE_ENV] = self.login_code
        return env

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit on its own; its exit code, or None if still running."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        """Send SIGTERM without waiting (for tests of graceful shutdown)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; removes the temporary database if this object made it."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=timeout)
            self._proc = None
        self._close_log()
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the temporary directory (database and log) if this object created it."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
