"""Run a sandbox server as a subprocess on a free loopback port (for tests, the demo and the regression plugin)."""

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

import httpx

from sandbox.cli import LISTENING_PREFIX

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class SandboxStartError(RuntimeError):
    """The sandbox process died or did not answer /ping before the deadline."""


class SandboxProcess:
    """A sandbox server subprocess; a context manager that starts it and stops it (SIGTERM, then SIGKILL)."""

    def __init__(self, db: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 version: str = "2.0.0-sandbox", commit: str = "0" * 40, client_id: str = "release-gate",
                 client_secret: str = "release-gate-secret", latency: dict[str, float] | None = None,
                 error_rate: dict[str, float] | None = None, defects: list[str] | None = None,
                 crash_after: int | None = None, seed_records: int = 0, seed: int = 1, token_ttl: int | None = None,
                 log_path: Path | None = None, startup_timeout: float = 30.0,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
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
        self.url = ""
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        self._log_offset = 0

    def command(self) -> list[str]:
        """The argv that starts the server."""
        argv = [sys.executable, "-m", "sandbox", "serve", "--host", self.host, "--port", str(self.port),
                "--db", self.db, "--client-id", self.client_id, "--client-secret", self.client_secret,
                "--app-version", self.version, "--app-commit", self.commit]
        if self.token_ttl is not None:
            argv += ["--token-ttl", str(self.token_ttl)]
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
        self.url = ""
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
                self.url = self._listening_url()
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

    def _listening_url(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                text = handle.read().decode(errors="replace")
        except OSError:
            return ""
        for line in text.splitlines():
            if line.startswith(LISTENING_PREFIX):
                return line[len(LISTENING_PREFIX):].strip()
        return ""

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
