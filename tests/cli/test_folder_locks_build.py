"""Real builds, publications and exports side by side on one stack: the folder lock keeps them apart.

Before folder locks, two ``build --clean`` runs in one build folder both ended
in tracebacks and left the runtime missing.  Now the second fails at once
naming the first, or with ``--lock-timeout`` waits its turn; the built app runs
afterwards either way.
"""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_build import launch, lock_and_build
from tests.cli.test_build import project as project  # noqa: PLC0414 (a fixture used here)
from venvstacks.locks import HOLDER_NAME, hold_folder_lock, load_holder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits"),
]

HOST = socket.gethostname()
APP_OUTPUT = "app 1.0 1.0 1.0\n"


def start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "venvstacks", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_held(folder: Path, process: subprocess.Popen[str]) -> None:
    """Wait until *process* holds *folder* (it wrote its holder description)."""
    deadline = time.monotonic() + 120
    while load_holder(folder).pid != process.pid:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=600)
    return process.returncode, stdout, stderr


def held_message(folder: Path, process: subprocess.Popen[str], command: str) -> str:
    return (
        f"error: {folder}: in use by pid {process.pid} on host {HOST} ({command}) since "
        f"{load_holder(folder).since}; wait for it to finish, or pass --lock-timeout SECONDS "
        "to wait for it\n"
    )


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venvstacks", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def _limit_file_size() -> None:
    # Python ignores SIGXFSZ, so writing past the limit fails with EFBIG, like a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_builds_publications_and_exports_at_once(project: Path, python_mirror: Path) -> None:
    lock_and_build(project, python_mirror)
    mirror = ("--python-mirror", str(python_mirror))
    build_dir = project / "_build"

    # Two clean builds: the second fails at once, naming the first; nothing breaks.
    first = start(project, "build", "--clean", *mirror)
    wait_until_held(build_dir, first)
    message = held_message(
        build_dir, first, f"venvstacks build --clean --python-mirror {python_mirror}"
    )
    second = run(project, "build", "--clean", *mirror)
    assert (second.returncode, second.stdout, second.stderr) == (1, "", message)
    assert finish(first)[0] == 0
    assert launch(build_dir / "app-app") == APP_OUTPUT
    # With --lock-timeout a build waits its turn, then finds the layers up to date. (The
    # folder is held here until the build says it waits: a build from warm caches can
    # finish before a second one even starts.)
    with hold_folder_lock(build_dir, command="pytest"):
        third = start(project, "build", "--lock-timeout", "600", *mirror)
        assert third.stderr is not None
        waiting = third.stderr.readline()
    code, stdout, stderr = finish(third)
    assert code == 0, stderr
    assert waiting.startswith(f"Waiting for {build_dir}: in use by pid {os.getpid()} ")
    assert "up to date" in stdout
    assert not (build_dir / HOLDER_NAME).exists()

    # A publication holds the build folder it reads and the output folder.
    publish = ("publish", "-o", "out", "--format", "tar.zst")
    first = start(project, *publish)
    wait_until_held(project / "out", first)
    second = run(project, *publish)
    assert (second.returncode, second.stderr) == (
        1,
        held_message(build_dir, first, "venvstacks " + " ".join(publish)),
    )
    second = run(project, *publish, "--lock-timeout", "600")
    assert second.returncode == 0, second.stderr
    assert finish(first)[0] == 0
    deployed = run(project, "deploy", "out", "--target", "deployed")
    assert deployed.returncode == 0, deployed.stderr
    assert launch(project / "deployed" / "app-app@1") == APP_OUTPUT

    # A local export holds the export folder; a waiting one finds it up to date.
    first = start(project, "local-export", "-o", "exported")
    wait_until_held(project / "exported", first)
    second = run(project, "local-export", "-o", "exported", "--lock-timeout", "600")
    assert second.returncode == 0, second.stderr
    assert finish(first)[0] == 0
    assert launch(project / "exported" / "app-app@1") == APP_OUTPUT

    # An archive that cannot be written (here: over the file size limit) is one line.
    proc = subprocess.run(
        [sys.executable, "-m", "venvstacks", "publish", "-o", "limited", "--format", "tar.zst"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_limit_file_size,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    out = re.escape(str(project / "limited"))
    assert re.fullmatch(
        rf"error: {out}/\.[^/]+\.tar\.zst\.staged: file too large; the file is larger than "
        r"this system allows; free some space or raise the file size limit, then run the "
        r"command again\n",
        proc.stderr,
    ), proc.stderr
    assert not (project / "limited" / "__venvstacks__" / "venvstacks.json").exists()
