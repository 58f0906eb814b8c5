"""How the CLI prints: verbosity levels and the mapping of errors to exit codes."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.status import Status

from venvstacks.errors import BuildError, Problem, SpecError, VenvStacksError
from venvstacks.locks import LockHolder


@dataclass(frozen=True)
class Output:
    """Where and how much to print, from the global ``-v``/``-q`` options."""

    verbosity: int = 0

    def warn(self, message: str) -> None:
        """Print a warning to stderr unless ``--quiet`` was given."""
        if self.verbosity >= 0:
            typer.echo(f"warning: {message}", err=True)

    def warn_loaded(self, warnings: Iterable[Problem], unmatched_patterns: Iterable[str]) -> None:
        """Print the spec's warnings and the ``--include`` patterns that matched nothing."""
        for warning in warnings:
            self.warn(warning.render())
        for pattern in unmatched_patterns:
            self.warn(f"no layers match {pattern!r}")

    def detail(self, message: str) -> None:
        """Print a detail to stderr when ``--verbose`` was given."""
        if self.verbosity > 0:
            typer.echo(message, err=True)


@dataclass
class LockWaitSpinner:
    """Shows who holds a folder while the command waits for it (a `LockWaitReporter`).

    On a terminal: a spinner (or the text of the command's own *status* spinner,
    put back when the wait ends); elsewhere one line per holder on stderr, so CI
    logs say why a run paused.  Nothing with ``--quiet``.
    """

    output: Output
    status: Status | None = None
    _console: Console = field(default_factory=lambda: Console(stderr=True))
    _own: Status | None = None
    _previous: object = None

    def lock_waiting(self, holder: LockHolder) -> None:
        """Show that this run waits for *holder*."""
        if self.output.verbosity < 0:
            return
        message = f"Waiting for {holder.folder}: in use by {holder.render()}"
        if self.status is not None:
            if self._previous is None:
                self._previous = self.status.status
            self.status.update(message)
        elif self._console.is_terminal:
            if self._own is None:
                self._own = self._console.status(message)
                self._own.start()
            else:
                self._own.update(message)
        else:
            typer.echo(f"{message}...", err=True)

    def lock_wait_ended(self, folder: Path) -> None:  # noqa: ARG002 (one spinner for every folder)
        """Stop showing the wait."""
        if self._own is not None:
            self._own.stop()
            self._own = None
        if self.status is not None and self._previous is not None:
            self.status.update(self._previous)  # type: ignore[arg-type]
            self._previous = None


# What to do about the operating-system errors a user can act on, by errno.
_OS_ERROR_HINTS = {
    errno.ENOTDIR: "a file is in the way where a folder is needed; move it or choose another path",
    errno.EISDIR: "a folder is in the way where a file is needed; move it or choose another path",
    errno.EEXIST: "something is in the way; move it or choose another path",
    errno.ENOTEMPTY: "the folder is not empty; move its contents or choose another path",
    errno.ENOENT: "check that the path exists",
    errno.EACCES: "check the permissions, or choose a folder you can write to",
    errno.EPERM: "check the permissions, or choose a folder you can write to",
    errno.EROFS: "the file system is read-only; choose a folder you can write to",
    errno.ENOSPC: "the disk is full; free some space and run the command again",
    errno.EFBIG: "the file is larger than this system allows; free some space or raise the "
    "file size limit, then run the command again",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run the command again",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
    errno.ELOOP: "the path has a symlink loop; fix the symlinks or choose another path",
}


def render_os_error(exc: OSError) -> str:
    """Render an operating-system error as one line: the path, what went wrong, what to do."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        # copytree collects (source, destination, reason) per file: the first one explains it.
        source, destination, reason = exc.args[0][0]
        return f"{destination}: copying {source} failed: {reason}"
    what = exc.strerror or str(exc) or type(exc).__name__
    what = what[:1].lower() + what[1:]
    hint = _OS_ERROR_HINTS.get(exc.errno or 0, "check the path and run the command again")
    if exc.filename is None:
        return f"{what}; {hint}"
    path = str(exc.filename)
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    return f"{path}: {what}; {hint}"


def run_guarded(output: Output, action: Callable[[], None]) -> None:
    """Run *action*, turning venvstacks and operating-system errors into messages and exit code 1."""
    try:
        action()
    except SpecError as exc:
        for warning in exc.warnings:
            output.warn(warning.render())
        for problem in exc.problems:
            typer.echo(f"error: {problem.render()}", err=True)
        raise typer.Exit(1) from None
    except VenvStacksError as exc:
        # A failed build step replays what the tool printed; other errors explain
        # themselves and show tool output only under --verbose.
        if exc.output and (isinstance(exc, BuildError) or output.verbosity > 0):
            typer.echo(exc.output.rstrip(), err=True)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        # A full disk, a missing permission, a file where a folder should be: the
        # user can act on these, so one line, never a traceback (BrokenPipeError too).
        typer.echo(f"error: {render_os_error(exc)}", err=True)
        raise typer.Exit(1) from None
