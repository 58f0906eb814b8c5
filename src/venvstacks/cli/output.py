"""How the CLI prints: verbosity levels and the mapping of errors to exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import typer

from venvstacks.errors import BuildError, Problem, SpecError, VenvStacksError
from venvstacks.fs import Recovery


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

    def recovered(self, recovery: Recovery) -> None:
        """Print what a command repaired after an earlier run was killed (unless ``--quiet``)."""
        if self.verbosity >= 0:
            typer.echo(recovery.render(), err=True)

    def detail(self, message: str) -> None:
        """Print a detail to stderr when ``--verbose`` was given."""
        if self.verbosity > 0:
            typer.echo(message, err=True)


def run_guarded(output: Output, action: Callable[[], None]) -> None:
    """Run *action*, turning venvstacks errors into messages and exit code 1."""
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
