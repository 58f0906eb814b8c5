"""One lock per folder venvstacks writes: build folders, output folders, deploy targets.

A run that writes a folder holds ``FOLDER/.venvstacks.lock`` (a ``filelock``
lock: ``flock`` on POSIX, ``LockFileEx`` on Windows, so the operating system
releases it when the holding process dies, even after ``kill -9``) and describes
itself in ``FOLDER/.venvstacks.lock.json``: pid, host, command line and start
time.  A second run that needs the same folder reads that description to say
who holds it, waits up to its timeout, then fails with `FolderLockedError`.

The holder description is rewritten by every run that takes the lock, so one
left behind by a killed process is simply replaced.  Both files are
bookkeeping, never content: nothing venvstacks publishes, exports or deploys
lists a folder's top level, and `LOCK_FILE_NAMES` names them for code that
does.  Locks are re-entrant within a process: a command that holds a folder can
call another step that takes it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import filelock

from venvstacks.errors import FolderLockedError
from venvstacks.fs import remove_tree, write_json

LOCK_NAME = ".venvstacks.lock"
HOLDER_NAME = ".venvstacks.lock.json"
LOCK_FILE_NAMES = frozenset({LOCK_NAME, HOLDER_NAME})

# How often a waiting run retries, and re-reads who holds the folder.
_POLL_SECONDS = 0.2
_MAX_COMMAND_CHARS = 160


class _Held(threading.local):
    """The folders this thread holds, with their hold counts.

    Per thread: another thread of this process asking for a held folder waits
    like another process would (each hold opens the lock file anew).
    """

    def __init__(self) -> None:
        self.counts: dict[Path, int] = {}


_held = _Held()


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder's lock, as the holder described itself (``None`` fields: unknown)."""

    folder: Path
    pid: int | None = None
    host: str = ""
    command: str = ""
    since: str = ""

    def render(self) -> str:
        """Describe the holder in a few words: ``pid 42 on host ci-3 (venvstacks build) since ...``."""
        if self.pid is None:
            return "another process (it left no details)"
        parts = [f"pid {self.pid}"]
        if self.host:
            parts.append(f"on host {self.host}")
        if self.command:
            parts.append(f"({self.command})")
        if self.since:
            parts.append(f"since {self.since}")
        return " ".join(parts)


class LockWaitReporter(Protocol):
    """Receives the events of waiting for a folder another run holds (the CLI draws a spinner)."""

    def lock_waiting(self, holder: LockHolder) -> None:
        """Report that this run waits for *holder* (again whenever the holder changes)."""

    def lock_wait_ended(self, folder: Path) -> None:
        """Report that the wait for *folder* is over (the lock was taken, or the wait gave up)."""


def render_command_line(argv: Sequence[str]) -> str:
    """Summarise a command line for the holder description (``venvstacks build --clean``)."""
    if not argv:
        return ""
    program = Path(argv[0]).name
    if program in {"__main__.py", "-m", "-c"} or program.startswith("venvstacks"):
        program = "venvstacks" if program != "-c" else "python -c"
    text = shlex.join([program, *argv[1:]])
    if len(text) > _MAX_COMMAND_CHARS:
        text = text[: _MAX_COMMAND_CHARS - 3] + "..."
    return text


def render_timestamp(seconds: float) -> str:
    """Render a start time the way holder messages show it: ``2026-12-01 21:58:30 UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def compute_holder_info(command: str, argv: Sequence[str], now: float) -> dict[str, object]:
    """Return the holder description this process writes beside a lock it takes."""
    return {
        "command": command,
        "command_line": render_command_line(argv),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": render_timestamp(now),
    }


def load_holder(folder: Path) -> LockHolder:
    """Read who holds *folder*'s lock (fields stay empty when the description is missing or bad)."""
    try:
        data = json.loads((folder / HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return LockHolder(folder)
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return LockHolder(folder)
    return LockHolder(
        folder,
        pid=data["pid"],
        host=str(data.get("host", "")),
        command=str(data.get("command_line") or data.get("command") or ""),
        since=str(data.get("since", "")),
    )


def render_locked_message(holder: LockHolder, timeout: float) -> str:
    """Return the one-line error for a folder that stayed locked (see `FolderLockedError`)."""
    if timeout > 0:
        return (
            f"{holder.folder}: still in use after waiting {timeout:g} s, by {holder.render()}; "
            "wait for it to finish, or pass a longer --lock-timeout"
        )
    return (
        f"{holder.folder}: in use by {holder.render()}; wait for it to finish, "
        "or pass --lock-timeout SECONDS to wait for it"
    )


def _try_acquire(lock: filelock.BaseFileLock, folder: Path, timeout: float) -> bool:
    for _ in range(10):
        try:
            lock.acquire(timeout=timeout, poll_interval=_POLL_SECONDS)
        except filelock.Timeout:
            return False
        except FileNotFoundError:
            # The holder created the folder, wrote nothing and removed it when it
            # finished (see `_remove_if_unused`): make it again and retry.
            folder.mkdir(parents=True, exist_ok=True)
            continue
        return True
    return False


def _acquire(
    lock: filelock.BaseFileLock,
    folder: Path,
    timeout: float,
    on_wait: Callable[[LockHolder], None] | None,
    on_done: Callable[[Path], None] | None,
) -> None:
    """Take *lock*, telling *on_wait* who holds it (again whenever the holder changes)."""
    if _try_acquire(lock, folder, 0):
        return
    holder = load_holder(folder)
    if timeout <= 0:
        raise FolderLockedError(render_locked_message(holder, timeout))
    deadline = time.monotonic() + timeout
    if on_wait is not None:
        on_wait(holder)
    try:
        while not _try_acquire(lock, folder, max(0.0, min(deadline - time.monotonic(), 1.0))):
            latest = load_holder(folder)
            if time.monotonic() >= deadline:
                raise FolderLockedError(render_locked_message(latest, timeout))
            if latest != holder:
                holder = latest
                if on_wait is not None:
                    on_wait(holder)
    finally:
        if on_done is not None:
            on_done(folder)


@contextlib.contextmanager
def hold_folder_lock(
    folder: Path,
    *,
    command: str,
    timeout: float = 0.0,
    on_wait: Callable[[LockHolder], None] | None = None,
    on_done: Callable[[Path], None] | None = None,
) -> Iterator[None]:
    """Hold the lock of *folder* (created if missing) for the duration of the block.

    *command* names the operation (``"build"``); the holder description adds
    this process's command line.  When another process holds the folder, wait
    up to *timeout* seconds (0: not at all), calling *on_wait* with the holder
    when the wait starts and whenever the holder changes, and *on_done* when the
    wait ends; then raise `FolderLockedError`.  Holding a folder this process
    already holds just nests.  OS errors creating the folder or the lock file
    propagate as `OSError`.

    A folder this hold created is removed again at the end if nothing but the
    lock files ended up in it (a run that failed early leaves no empty folder).
    """
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    counts = _held.counts
    if key in counts:
        counts[key] += 1
        try:
            yield
        finally:
            counts[key] -= 1
        return
    lock = filelock.FileLock(folder / LOCK_NAME, thread_local=False)
    _acquire(lock, folder, timeout, on_wait, on_done)
    try:
        counts[key] = 1
        # A holder killed while writing its description leaves a temporary file;
        # holding the lock, nobody else writes one now.
        for stale in folder.glob(f".{HOLDER_NAME}.*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        write_json(folder / HOLDER_NAME, compute_holder_info(command, sys.argv, time.time()))
        yield
    finally:
        counts.pop(key, None)
        with contextlib.suppress(OSError):
            remove_tree(folder / HOLDER_NAME)
            if created:
                _remove_if_unused(folder)
        lock.release()


def _remove_if_unused(folder: Path) -> None:
    """Remove *folder* if it holds only its lock file (done while holding the lock).

    A run waiting for the lock then finds its lock file unlinked: ``filelock``
    notices and takes the lock on a new file, in a folder it creates again.
    """
    if {entry.name for entry in folder.iterdir()} <= LOCK_FILE_NAMES:
        for name in sorted(LOCK_FILE_NAMES):
            (folder / name).unlink(missing_ok=True)
        folder.rmdir()


@contextlib.contextmanager
def hold_folder_locks(
    folders: Iterable[Path],
    *,
    command: str,
    timeout: float = 0.0,
    on_wait: Callable[[LockHolder], None] | None = None,
    on_done: Callable[[Path], None] | None = None,
) -> Iterator[None]:
    """Hold the locks of several folders, taken in one fixed order so two runs never deadlock.

    The same folder named twice is locked once; *timeout* applies to each folder.
    """
    unique = {Path(os.path.abspath(f)): None for f in folders}  # noqa: PTH100 (not resolved: messages show the user's path)
    with contextlib.ExitStack() as stack:
        for folder in sorted(unique):
            stack.enter_context(
                hold_folder_lock(
                    folder, command=command, timeout=timeout, on_wait=on_wait, on_done=on_done
                )
            )
        yield


@contextlib.contextmanager
def hold_folders(
    folders: Iterable[Path],
    *,
    command: str,
    timeout: float = 0.0,
    reporter: LockWaitReporter | None = None,
) -> Iterator[None]:
    """`hold_folder_locks`, reporting waits to a `LockWaitReporter`."""
    with hold_folder_locks(
        folders,
        command=command,
        timeout=timeout,
        on_wait=None if reporter is None else reporter.lock_waiting,
        on_done=None if reporter is None else reporter.lock_wait_ended,
    ):
        yield
