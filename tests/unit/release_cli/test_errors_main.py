"""release.cli.main: every error is one `error:` line and an exit code, never a traceback (unless asked for).

The commands here are throwaway click commands registered under test names; each raises a real exception of the
kind bad input produces (an OSError from a real open(), a UnicodeDecodeError from real bytes, a RecursionError,
a ValueError from datetime), so what is under test is main()'s boundary itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import pytest

from release.cli import main as entry
from release.errors import Blocked, InputError

pytestmark = pytest.mark.unit


def _recurse(n: int) -> int:
    return _recurse(n + 1) + 1


@click.command("boom")
@click.argument("kind")
@click.argument("where", required=False)
def boom(kind: str, where: str | None) -> None:
    """Raise the error named by KIND."""
    if kind == "oserror":
        Path(where or "").joinpath("x").write_text("x")  # a file where a folder should be
    elif kind == "unicode":
        b"\xff\xfe\xfa".decode("utf-8")
    elif kind == "recursion":
        _recurse(0)
    elif kind == "valueerror":
        dt.datetime.fromisoformat("garbage\nline two")
    elif kind == "bug":
        raise AttributeError("'NoneType' object has no attribute 'sha'")
    elif kind == "input":
        raise InputError("invalid version '1.x\n::error::injected'")
    elif kind == "blocked":
        raise Blocked("gate qa is PENDING")
    elif kind == "surrogate":
        raise InputError("no release 'caf\udce9' in the ledger")
    elif kind == "long":
        raise ValueError("y" * 100_000)
    elif kind == "interrupt":
        raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def boom_command(monkeypatch):
    monkeypatch.setitem(entry.COMMANDS, "boom", f"{__name__}:boom")
    monkeypatch.delenv(entry.DEBUG_ENV, raising=False)


def run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        entry.main(list(args))
    err = capsys.readouterr().err
    assert isinstance(info.value.code, int), info.value.code
    return info.value.code, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_an_oserror_names_the_path_and_exits_2(capsys, tmp_path):
    a_file = tmp_path / "reports"
    a_file.write_text("not a folder")
    code, err = run(capsys, "boom", "oserror", str(a_file))
    line = one_line(err)
    assert code == 2 and f"{a_file}/x" in line and "Not a directory" in line
    assert entry.DEBUG_ENV in line  # says how to get the traceback


@pytest.mark.parametrize(("kind", "needle"), [
    ("unicode", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"),
    ("recursion", "input nested too deeply to read"),
    ("valueerror", "ValueError: Invalid isoformat string: 'garbage\\nline two'"),  # repr: the newline escaped
    ("bug", "AttributeError: 'NoneType' object has no attribute 'sha'"),
])
def test_errors_outside_the_error_tree_are_one_line_and_exit_2(capsys, kind, needle):
    code, err = run(capsys, "boom", kind)
    assert code == 2 and needle in one_line(err)


def test_a_release_error_keeps_its_exit_code_and_its_newlines_are_folded(capsys):
    code, err = run(capsys, "boom", "input")
    assert code == 2 and one_line(err) == "error: invalid version '1.x ::error::injected'"
    code, err = run(capsys, "boom", "blocked")
    assert code == 1 and one_line(err) == "error: gate qa is PENDING"


def test_a_lone_surrogate_in_a_message_is_escaped_not_a_crash(capsys):
    code, err = run(capsys, "boom", "surrogate")
    assert code == 2 and one_line(err) == "error: no release 'caf\\udce9' in the ledger"


def test_a_huge_message_is_cut(capsys):
    code, err = run(capsys, "boom", "long")
    line = one_line(err)
    assert code == 2 and len(line) < entry.MAX_ERROR_CHARS + 200 and "y ..." in line


def test_interrupt_is_130_without_a_traceback(capsys):
    code, err = run(capsys, "boom", "interrupt")
    assert code == 130 and err.strip() == "aborted"  # click turns Ctrl-C into Abort


@pytest.mark.parametrize("how", ["env", "-v", "--verbose"])
def test_debug_or_verbose_lets_the_exception_through_for_its_traceback(monkeypatch, how):
    args = ["boom", "valueerror"]
    if how == "env":
        monkeypatch.setenv(entry.DEBUG_ENV, "1")
    else:
        args.insert(0, how)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        entry.main(args)


def test_release_debug_0_is_off(capsys, monkeypatch):
    monkeypatch.setenv(entry.DEBUG_ENV, "0")
    code, err = run(capsys, "boom", "bug")
    assert code == 2 and "AttributeError" in one_line(err)


def test_click_usage_errors_stay_exit_2(capsys):
    code, err = run(capsys, "boom")
    assert code == 2 and "Missing argument 'KIND'" in err and "Traceback" not in err
