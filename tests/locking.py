"""A process that holds a folder lock, for tests of what a second run does meanwhile."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Holds the lock until its stdin closes (or it is killed), like a long venvstacks run.
_HOLDER = """
import sys
from pathlib import Path
from venvstacks.locks import hold_folder_lock
folder = Path(sys.argv[1])
sys.argv = ["venvstacks", *sys.argv[2:]]
with hold_folder_lock(folder, command="test"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def lock_holder(folder: Path, *argv: str) -> Iterator[subprocess.Popen[str]]:
    """Run a process holding *folder*'s lock with the command line ``venvstacks ARGV...``.

    Yields once the lock is held; closing the process's stdin releases it.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder), *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "held\n"
        yield process
    finally:
        release(process)


def release(process: subprocess.Popen[str]) -> None:
    """Let the holder finish (if it still runs) and wait for it."""
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()
