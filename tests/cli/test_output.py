"""Tests for cli/output.py: operating-system errors as one line, the lock-wait spinner."""

from __future__ import annotations

import errno
import io
import shutil
from pathlib import Path

import pytest
import typer
from rich.console import Console

from venvstacks.cli.output import LockWaitSpinner, Output, render_os_error, run_guarded
from venvstacks.locks import LockHolder


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "/t/file/sub"),
            (
                "/t/file/sub: not a directory; a file is in the way where a folder is needed; "
                "move it or choose another path"
            ),
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/layers"),
            (
                "/srv/layers: permission denied; check the permissions, or choose a folder you can "
                "write to"
            ),
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "/mnt/a.tar.xz"),
            (
                "/mnt/a.tar.xz: no space left on device; the disk is full; free some space and run "
                "the command again"
            ),
        ),
        (
            OSError(errno.EROFS, "Read-only file system", "/ro/x", None, "/ro/y"),
            (
                "/ro/x -> /ro/y: read-only file system; the file system is read-only; choose a "
                "folder you can write to"
            ),
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "no space left on device; the disk is full; free some space and run the command again",
        ),
        (
            OSError(errno.EIO, "Input/output error", "/dev/bad"),
            "/dev/bad: input/output error; check the path and run the command again",
        ),
        (
            shutil.Error([("/b/x.py", "/e/x.py", "[Errno 28] No space left on device")]),
            "/e/x.py: copying /b/x.py failed: [Errno 28] No space left on device",
        ),
    ],
)
def test_render_os_error(exc: OSError, expected: str) -> None:
    assert render_os_error(exc) == expected


def test_run_guarded_turns_an_os_error_into_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def action() -> None:
        Path("/proc/version/sub").mkdir(parents=True)

    with pytest.raises(typer.Exit) as caught:
        run_guarded(Output(), action)
    assert caught.value.exit_code == 1
    assert capsys.readouterr().err == (
        "error: /proc/version/sub: not a directory; a file is in the way where a folder is "
        "needed; move it or choose another path\n"
    )


HOLDER = LockHolder(Path("/p/_build"), 42, "ci-3", "venvstacks build", "2026-12-01 21:58:30 UTC")
WAITING = "Waiting for /p/_build: in use by pid 42 on host ci-3 (venvstacks build) since 2026-12-01 21:58:30 UTC"


def test_spinner_on_a_terminal_starts_and_stops() -> None:
    stream = io.StringIO()
    spinner = LockWaitSpinner(
        Output(), _console=Console(file=stream, force_terminal=True, width=200)
    )
    spinner.lock_waiting(HOLDER)
    assert spinner._own is not None
    spinner.lock_wait_ended(HOLDER.folder)
    assert spinner._own is None
    assert WAITING in stream.getvalue()


def test_spinner_borrows_the_commands_status_and_puts_its_text_back() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    with console.status("Deploying into /t...") as status:
        spinner = LockWaitSpinner(Output(), status)
        spinner.lock_waiting(HOLDER)
        assert str(status.status) == WAITING
        spinner.lock_wait_ended(HOLDER.folder)
        assert str(status.status) == "Deploying into /t..."


def test_spinner_elsewhere_prints_a_line_unless_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    not_a_terminal = Console(file=io.StringIO())
    LockWaitSpinner(Output(), _console=not_a_terminal).lock_waiting(HOLDER)
    assert capsys.readouterr().err == WAITING + "...\n"
    LockWaitSpinner(Output(verbosity=-1), _console=not_a_terminal).lock_waiting(HOLDER)
    assert capsys.readouterr().err == ""
