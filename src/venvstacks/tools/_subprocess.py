"""The one place venvstacks starts other programs.

Every external command (uv, patchelf, a layer's own Python) goes through `run`,
so output capture, environment handling and failure reporting are uniform.
Callers accept a `Runner` so tests can substitute a fake without patching
`subprocess`.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from venvstacks.errors import ToolError

# Commands and their output, for `venvstacks -v` (the CLI attaches a handler).
logger = logging.getLogger("venvstacks.tools")


@dataclass(frozen=True)
class Completed:
    """The outcome of one finished command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything the command printed, stdout first."""
        return "\n".join(part for part in (self.stdout, self.stderr) if part)


class Runner(Protocol):
    """Signature shared by `run` and the fakes tests pass in its place."""

    def __call__(
        self,
        args: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
        failure: str = "",
    ) -> Completed: ...


def run(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    failure: str = "",
) -> Completed:
    """Run *args* to completion, capturing its output as text.

    *env* replaces the whole environment when given.  With *check*, a non-zero
    exit raises `ToolError` whose message is *failure* (or a generic one) and
    which carries the command's full output for the CLI to replay.
    """
    argv = tuple(os.fspath(arg) for arg in args)
    logger.debug("$ %s", shlex.join(argv))
    try:
        proc = subprocess.run(  # noqa: PLW1510 - the exit code is checked below
            argv,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        raise ToolError(
            failure or f"could not run {argv[0]}: {exc.strerror}", command=argv
        ) from exc
    completed = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if completed.output.strip():
        logger.debug("%s", completed.output.rstrip())
    if check and proc.returncode != 0:
        message = failure or f"{Path(argv[0]).name} failed with exit code {proc.returncode}"
        raise ToolError(message, command=argv, output=completed.output)
    return completed


def launch(args: Sequence[str | Path]) -> int:
    """Start *args* attached to this process's terminal and return its exit status.

    On POSIX the program replaces this process (``execv``): signals reach it
    directly and its exit status is the caller's, so this returns only if it
    cannot be started (raising `ToolError`).  On Windows it runs as a child and
    its exit code is returned.
    """
    argv = tuple(os.fspath(arg) for arg in args)
    logger.debug("$ %s", shlex.join(argv))
    try:
        if os.name != "nt":
            os.execv(argv[0], argv)  # noqa: S606 - the layer's own interpreter, no shell
        return subprocess.run(argv, check=False).returncode
    except OSError as exc:
        raise ToolError(f"could not run {argv[0]}: {exc.strerror}", command=argv) from exc
