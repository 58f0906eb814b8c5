"""Each command that writes a folder holds its lock: a second run fails naming the holder, or waits.

Fast: the folder is held by a helper process (`tests.locking.lock_holder`), and
each command is stopped by the lock before it would need a built stack.  The
slow tests in ``test_folder_locks_build.py`` run real builds side by side.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_lock import SPEC
from tests.locking import lock_holder
from venvstacks.cli.app import app
from venvstacks.locks import HOLDER_NAME, load_holder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and paths")

HOST = socket.gethostname()


def make_project(root: Path) -> Path:
    (root / "launch").mkdir(parents=True)
    (root / "launch" / "app.py").write_text("print('app')\n", encoding="utf-8")
    (root / "venvstacks.toml").write_text(SPEC, encoding="utf-8")
    return root


def venvstacks(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env={**os.environ, **(env or {})},
    )


def held_message(folder: Path, pid: int, command: str) -> str:
    since = load_holder(folder).since
    return (
        f"error: {folder}: in use by pid {pid} on host {HOST} ({command}) since {since}; "
        "wait for it to finish, or pass --lock-timeout SECONDS to wait for it\n"
    )


@pytest.mark.parametrize(
    ("args", "folder"),
    [
        (("lock", "--no-index"), "_build"),
        (("build", "--clean"), "_build"),
        (("build", "--publish", "-o", "out"), "out"),
        (("publish", "-o", "out"), "_build"),
        (("publish", "-o", "out"), "out"),
        (("local-export", "-o", "exported"), "exported"),
    ],
)
def test_a_held_folder_stops_the_command_naming_the_holder(
    tmp_path: Path, args: tuple[str, ...], folder: str
) -> None:
    project = make_project(tmp_path)
    with lock_holder(project / folder, "build", "--clean") as holder:
        proc = venvstacks(project, *args)
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == held_message(project / folder, holder.pid, "venvstacks build --clean")
    assert not (project / "requirements").exists()  # lock stopped before it wrote anything


def test_lock_timeout_waits_for_the_holder_then_goes_on(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    folder = project / "_build"
    with lock_holder(folder, "publish") as holder:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "venvstacks", "publish", "--lock-timeout", "60"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert line == (
            f"Waiting for {folder}: in use by pid {holder.pid} on host {HOST} "
            f"(venvstacks publish) since {load_holder(folder).since}...\n"
        )
    stdout, stderr = waiting.communicate(timeout=60)
    # Past the lock, publish finds the stack was never locked: it went on.
    assert (waiting.returncode, stdout) == (1, "")
    assert stderr.startswith("error: cpython-3.11, framework-base, framework-upper, app-app: ")
    assert not (folder / HOLDER_NAME).exists()


def test_lock_timeout_from_the_environment_gives_up_after_waiting(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    folder = project / "_export"
    with lock_holder(folder, "local-export") as holder:
        proc = venvstacks(project, "-q", "local-export", env={"VENVSTACKS_LOCK_TIMEOUT": "0.5"})
        since = load_holder(folder).since
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {folder}: still in use after waiting 0.5 s, by pid {holder.pid} on host {HOST} "
        f"(venvstacks local-export) since {since}; wait for it to finish, or pass a longer "
        "--lock-timeout\n"
    )


def test_a_killed_holder_does_not_block(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    with lock_holder(project / "_build", "build") as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert load_holder(project / "_build").pid == holder.pid  # its description stayed
        proc = venvstacks(project, "build")
    # The build got past the lock: it stops because nothing is locked yet.
    assert proc.returncode == 1
    assert "in use" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert not (project / "_build" / HOLDER_NAME).exists()


@pytest.mark.parametrize("command", ["lock", "build", "publish", "local-export", "deploy"])
def test_lock_timeout_is_documented_in_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "--lock-timeout SECONDS" in result.output
    assert "VENVSTACKS_LOCK_TIMEOUT" in result.output


def test_a_file_where_the_output_folder_should_be(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "out").write_text("", encoding="utf-8")
    proc = venvstacks(project, "publish", "-o", "out")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {project / 'out'}: file exists; something is in the way; "
        "move it or choose another path\n"
    )
