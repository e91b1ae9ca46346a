"""Run a target's deploy or promote command: placeholders filled per argument, no shell, bounded in time.

A deploy or promote template is split like a POSIX shell would split it (``shlex``) and then run without one, so a
value can never become shell syntax. Each word may use the built-ins ``{version} {commit} {tag} {target}`` and the
variables declared under ``[variables]``; ``{{`` and ``}}`` are literal braces (the ``str.format`` rules that
release.toml checks at load, see ``release.config.command_placeholders``). A variable is a literal, or an env var
with an optional default. A literal or a default may itself use the built-ins, one level deep
(``countryconfig_image_tag = "v{version}"``); an env var's value is used as it is. A variable whose env var is unset
and has no default is a ConfigError (exit 2) naming both, raised before anything changes.

Every resolved variable is recorded with the deploy (ledger, audit chain, evidence), so a variable must never hold a
secret: a deploy script reads its secrets from the environment it inherits.

A command runs in a process group of its own (a new session), and that whole group is stopped when the command
ends, times out, or ``release`` itself is stopped (SIGTERM, SIGINT, SIGHUP, or any exception), so nothing a deploy
started outlives it unseen. A deploy that must leave a process running detaches it into its own session (setsid),
as docker, systemd and the sandbox do. The command starts only after the caller has recorded its pid and process
group (``on_start``): ``release promote`` writes them to the ledger first, so a resume after a ``kill -9`` knows
which group to wait for (docs/promotion.md).
"""

from __future__ import annotations

import os
import shlex
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from release.config import CONFIG_NAME, DEPLOY_PLACEHOLDERS, MANUAL_DEPLOY, Config, Target, Variable
from release.errors import ConfigError, UsageError

PLACEHOLDERS = tuple(sorted(DEPLOY_PLACEHOLDERS))
DEFAULT_TIMEOUT_S = 600.0
#: What the record says when the operator deploys by hand (``deploy = "manual"``).
MANUAL_NOTE = "deployed by hand; not run by crvs-release"

#: Seconds a stopped command's process group gets between SIGTERM and SIGKILL.
KILL_GRACE_S = 5.0

__all__ = ["DEFAULT_TIMEOUT_S", "KILL_GRACE_S", "MANUAL_DEPLOY", "MANUAL_NOTE", "PLACEHOLDERS", "DeployResult",
           "RenderedCommand", "Terminated", "command_argv", "group_alive", "host_id", "is_manual", "kill_group",
           "process_start", "render_command", "require_command_variables", "run_command", "target_command"]


class Terminated(KeyboardInterrupt):
    """release was stopped by a signal while a command ran; the command's process group was stopped first.

    A KeyboardInterrupt, not a ReleaseError: code that records a failure and goes on (``except Exception``, as the
    gate runner's fail-closed boundary) must not swallow a stop request; it propagates as Ctrl-C always did.
    ``release promote`` prints it and exits with ``exit_code``; other commands report it as interrupted (130).
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = signum
        #: The shell's convention for a process ended by a signal: 128 + its number (SIGTERM: 143).
        self.exit_code = 128 + signum
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        super().__init__(message or f"stopped by {name}; the running command's process group was stopped too")


@dataclass(frozen=True)
class DeployResult:
    """How a deploy command ended: its argv, exit code (None on timeout or when it could not start), output tail."""

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    #: The lines of the whole output that record deployed images (``RELEASE_IMAGE_<NAME>=<tag>``).
    image_lines: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        """The image lines and the output tail, for parsers of the deploy record."""
        return "\n".join((*self.image_lines, self.output_tail))

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    def describe(self) -> str:
        """One line saying how it ended."""
        if self.exit_code is None:
            return f"deploy command {self.argv[0] if self.argv else '?'} did not complete: {self.output_tail}"
        last = self.output_tail.strip().splitlines()[-1:] or [""]
        return f"deploy command exited {self.exit_code}" + (f": {last[0]}" if last[0] else "")


@dataclass(frozen=True)
class RenderedCommand:
    """A command ready to run: its argv and the declared variables it used (name -> value, recorded as evidence)."""

    argv: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)

    def describe_variables(self) -> str:
        """'name=value, ...' for progress lines and records ('' when it used none)."""
        return ", ".join(f"{k}={v}" for k, v in self.variables.items())


def is_manual(template: str | None) -> bool:
    """True when a target's deploy is ``deploy = "manual"``: the operator deploys by hand."""
    return template == MANUAL_DEPLOY


def _fields(text: str, where: str, source: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder name or None) pieces of text; ConfigError for a malformed placeholder."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(source, where, f"expected {{name}} placeholders ({exc}; write {{{{ and }}}} for literal "
                                         "braces)") from exc
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not name.isidentifier()):
            raise ConfigError(source, where, f"expected a bare {{name}} placeholder, not {{{name}"
                                             f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        pieces.append((literal, name))
    return pieces


def _resolve(name: str, var: Variable, builtins: Mapping[str, str], environ: Mapping[str, str], source: str,
             used_by: str) -> str:
    """One variable's value: its literal (built-ins filled), else its env var as is, else its default (filled)."""
    where = f"variables.{name}"
    if var.value is not None:
        return _fill_builtins(var.value, builtins, where, source)
    if var.env is not None and environ.get(var.env):
        return environ[var.env]
    if var.default is not None:
        return _fill_builtins(var.default, builtins, f"{where}.default", source)
    raise ConfigError(source, where, f"expected the environment variable {var.env} to be set ({used_by} uses "
                                     f"{{{name}}} and it has no default): set {var.env}, or give it one, e.g. "
                                     f"{name} = {{ env = \"{var.env}\", default = \"...\" }}")


def _fill_builtins(text: str, builtins: Mapping[str, str], where: str, source: str) -> str:
    """A variable's literal or default with the built-ins filled; one level, so no other variable may appear."""
    out: list[str] = []
    for literal, name in _fields(text, where, source):
        out.append(literal)
        if name is None:
            continue
        if name not in builtins:
            raise ConfigError(source, where, f"a variable's value may use only the built-ins "
                                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}, not {{{name}}}")
        out.append(builtins[name])
    return "".join(out)


def render_command(template: str, *, version: str, commit: str, tag: str, target: str = "",
                   variables: Mapping[str, Variable] | None = None, environ: Mapping[str, str] | None = None,
                   source: str = CONFIG_NAME, where: str = "command") -> RenderedCommand:
    """Split template into words, then fill built-ins and declared variables in each word (no shell).

    ``where`` is the template's key path (``targets.staging.deploy``) and ``source`` its file, for errors.
    An undeclared placeholder is a ConfigError (release.toml refuses it at load; this guards other callers).
    """
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"cannot parse command {template!r}: {exc}") from exc
    if not words:
        raise UsageError(f"empty command {template!r}")
    declared = variables or {}
    env = os.environ if environ is None else environ
    builtins = {"version": version, "commit": commit, "tag": tag, "target": target}
    used: dict[str, str] = {}
    argv: list[str] = []
    for word in words:
        out: list[str] = []
        for literal, name in _fields(word, where, source):
            out.append(literal)
            if name is None:
                continue
            if name in builtins:
                out.append(builtins[name])
            elif name in declared:
                if name not in used:
                    used[name] = _resolve(name, declared[name], builtins, env, source, where)
                out.append(used[name])
            else:
                raise ConfigError(source, where, f"unknown placeholder {{{name}}}: declare it under [variables]; "
                                                 "built in: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        argv.append("".join(out))
    return RenderedCommand(tuple(argv), used)


def command_argv(template: str, *, version: str, commit: str, tag: str, target: str | None = None,
                 variables: Mapping[str, Variable] | None = None, environ: Mapping[str, str] | None = None,
                 source: str = CONFIG_NAME, where: str = "command", strict: bool = True) -> tuple[str, ...]:
    """The argv of a command template (see render_command).

    ``strict=False`` is for gate ``run`` commands, which release.toml does not parse as templates: only
    ``{version} {commit} {tag}`` (and ``{target}`` when given) are replaced; any other brace is kept as written.
    """
    if strict:
        return render_command(template, version=version, commit=commit, tag=tag, target=target or "",
                              variables=variables, environ=environ, source=source, where=where).argv
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"cannot parse command {template!r}: {exc}") from exc
    values = {"version": version, "commit": commit, "tag": tag}
    if target is not None:
        values["target"] = target
    filled = []
    for word in words:
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        filled.append(word)
    if not filled:
        raise UsageError(f"empty command {template!r}")
    return tuple(filled)


def _secret_envs(config: Config) -> dict[str, str]:
    """env var -> key path of every secret any target names (a variable must never read one: it is recorded)."""
    return {var: key for t in config.targets.values() for key, var in t.secret_env_vars()}


def target_command(config: Config, target: Target, key: str, *, version: str, commit: str, tag: str,
                   environ: Mapping[str, str] | None = None) -> RenderedCommand:
    """Render ``[targets.NAME] <key>`` (deploy or promote) with config's variables; ConfigError before any change.

    A variable that reads a secret env var of a target (a client secret, a password) is refused: variables are
    recorded in the evidence, secrets never are.
    """
    template = getattr(target, key)
    if not template or is_manual(template):
        raise UsageError(f"target {target.name} has no {key} command to run")
    where = f"targets.{target.name}.{key}"
    rendered = render_command(template, version=version, commit=commit, tag=tag, target=target.name,
                              variables=config.variables, environ=environ, source=target.source, where=where)
    secrets = _secret_envs(config)
    for name in rendered.variables:
        env = config.variables[name].env
        if env is not None and env in secrets:
            raise ConfigError(target.source, f"variables.{name}.env",
                              f"{env} is a secret ({secrets[env]}); variables are recorded with each deploy, so a "
                              "secret must not be one: let the deploy script read it from its environment")
    return rendered


def require_command_variables(config: Config, targets: Iterable[Target], key: str = "deploy", *,
                              environ: Mapping[str, str] | None = None) -> None:
    """ConfigError now, before anything changes, if a target's command could not be rendered (unset env var...)."""
    for target in targets:
        template = getattr(target, key)
        if template and not is_manual(template):
            target_command(config, target, key, version="0.0.0", commit="0" * 40, tag="v0.0.0", environ=environ)


# ----- processes: who is alive, and process groups ------------------------------------------------------

def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def host_id() -> str | None:
    """This kernel boot and pid namespace (``<boot id>.<pid ns>``), or None where /proc cannot say (not Linux).

    A hostname does not identify where a pid means something: containers share hostnames and two CI runners may
    both be ``runner``. Two processes can see each other's pids exactly when they share a boot and a pid namespace.
    """
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    if not boot:
        return None
    digits = "".join(ch for ch in namespace if ch.isdigit())
    return f"{boot.strip().replace('-', '')[:12]}.{digits}" if digits else None


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat fields after the command name (field 3, the state, first), or None."""
    text = _read(f"/proc/{pid}/stat")
    if not text or ")" not in text:
        return None
    return text.rsplit(")", 1)[1].split()


def process_start(pid: int) -> str | None:
    """When process pid started (clock ticks since boot, /proc/PID/stat field 22), or None if it is not running.

    pid plus start time names one process for the life of a boot: a pid that is reused belongs to a process that
    started later. A zombie (exited, not yet reaped) is not running.
    """
    fields = _stat(pid)
    if fields is None or len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    return fields[19]


def group_alive(pgid: int) -> bool:
    """True while any process of group pgid runs (zombies do not count where /proc says which they are)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    if not os.path.isdir("/proc/self"):
        return True  # no /proc: the group exists, so count it as running
    seen = running = False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields is None or len(fields) < 3 or fields[2] != str(pgid):
            continue
        seen = True
        if fields[0] not in ("Z", "X", "x"):
            running = True
            break
    # A member we cannot see (/proc mounted with hidepid) still counts: killpg says the group exists.
    return running or not seen


def kill_group(pgid: int, *, grace_s: float = KILL_GRACE_S, child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the whole group, SIGKILL what is left after grace_s; True when something was still running.

    ``child`` (the group's leader, when it is ours) is reaped as it goes, so it does not linger as a zombie.
    """

    def alive() -> bool:
        if child is not None:
            child.poll()
        return group_alive(pgid)

    if not alive():
        return False
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            return True
        deadline = time.monotonic() + wait_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive():
            return True
    return True


@contextmanager
def _signals_raise() -> Iterator[None]:
    """While the body runs, SIGTERM, SIGINT and SIGHUP raise Terminated (once), so its cleanup always runs.

    Python's default for SIGTERM and SIGHUP ends the process without running ``finally``; a deploy command in a
    session of its own would then go on running. A second signal during the cleanup is ignored, not raised, so
    it cannot cut the cleanup short.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


#: Run inside the new session before the command: wait for the go byte on stdin (sent only after the caller
#: recorded our pid and group), then exec the command with stdin from /dev/null. EOF instead of the byte means the
#: caller died or was superseded: exit without running anything. An exec failure is reported on the status pipe,
#: which is close-on-exec, so the caller reads EOF exactly when exec succeeded (the way subprocess reports it).
_LAUNCHER = """import os, sys
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
if os.read(0, 1) != b"1":
    os._exit(125)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    os.write(fd, (exc.strerror or str(exc)).encode("utf-8", "replace"))
    os._exit(127)
"""


def run_command(argv: tuple[str, ...], cwd: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                env: Mapping[str, str] | None = None,
                on_start: Callable[[int, int], None] | None = None) -> DeployResult:
    """Run argv in cwd without a shell, in a process group of its own; never raises for a failing, missing or
    hanging command.

    ``on_start(pid, pgid)`` is called after the process exists and before the command runs; if it raises, the
    command never runs and the exception propagates. Whatever happens (exit, timeout, exception, SIGTERM, SIGINT,
    SIGHUP), the group is stopped before this returns or raises. A signal raises Terminated after the cleanup.
    """
    # Output goes to a file, not a pipe: a deploy script that leaves a server running in the background
    # would otherwise hold the pipe open and hang us.
    with tempfile.TemporaryFile() as out:
        status_r, status_w = os.pipe()
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(status_w), *argv],
                                    cwd=str(cwd), env=dict(env if env is not None else os.environ),
                                    stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                    pass_fds=(status_w,), start_new_session=True)
        except OSError as exc:
            os.close(status_r)
            return DeployResult(argv, None, f"could not start: {exc.strerror or exc}")
        finally:
            os.close(status_w)
        pgid = proc.pid  # start_new_session: the launcher is the leader of a new session and process group
        timed_out = False
        failed_exec = ""
        try:
            with _signals_raise():
                try:
                    if on_start is not None:
                        on_start(proc.pid, pgid)
                    assert proc.stdin is not None
                    try:
                        proc.stdin.write(b"1")
                        proc.stdin.close()
                    except OSError:
                        pass  # the launcher is gone already: its exit code says how
                    chunks = []
                    while chunk := os.read(status_r, 4096):
                        chunks.append(chunk)
                    failed_exec = b"".join(chunks).decode("utf-8", "replace")
                    if not failed_exec:
                        try:
                            proc.wait(timeout=timeout_s)
                        except subprocess.TimeoutExpired:
                            timed_out = True
                finally:
                    if proc.stdin is not None and not proc.stdin.closed:
                        with suppress(OSError):
                            proc.stdin.close()  # EOF: a launcher still waiting for the go byte exits unrun
                    kill_group(pgid, child=proc)  # leftovers after an exit, or everything on a timeout or error
                    if proc.poll() is None:
                        proc.kill()
                    proc.wait()
        finally:
            os.close(status_r)
        if failed_exec:
            return DeployResult(argv, None, f"could not start: {failed_exec}")
        if timed_out:
            return DeployResult(argv, None, f"timed out after {timeout_s:g}s")
        out.seek(0)
        whole = out.read()
        tail = whole[-2000:].decode("utf-8", "replace")
        images = tuple(line.strip() for line in whole.decode("utf-8", "replace").splitlines()
                       if line.strip().startswith("RELEASE_IMAGE_"))[:50]
    return DeployResult(argv, proc.returncode, tail, images)
