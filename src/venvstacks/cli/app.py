"""The ``venvstacks`` command line: options in, one pipeline call, rendered results out.

This is the only module that maps exceptions to exit codes: 0 on success, 1 for
problems with the stack or its layers, 2 for a malformed command line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from venvstacks import __version__
from venvstacks.cli.build_cmd import build
from venvstacks.cli.cache_cmd import cache_app
from venvstacks.cli.deploy_cmd import deploy
from venvstacks.cli.keygen_cmd import keygen
from venvstacks.cli.lock_cmd import lock
from venvstacks.cli.options import AllowMissing, BuildDir, Command, Include, Json, SpecPath
from venvstacks.cli.output import Output, run_guarded
from venvstacks.cli.publish_cmd import local_export, publish
from venvstacks.cli.python_cmd import python_app
from venvstacks.cli.render import print_status
from venvstacks.cli.sizes_cmd import sizes
from venvstacks.cli.store_cmd import store_app
from venvstacks.cli.verify_cmd import verify
from venvstacks.pipeline import show_stack

app = typer.Typer(
    name="venvstacks",
    help="Lock, build and publish layered Python environments (runtimes, frameworks, applications).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click error messages: one line each, no boxes.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _EchoHandler(logging.Handler):
    """Writes log records to whatever stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(record.getMessage(), err=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"venvstacks: {__version__}")
        raise typer.Exit


@app.callback()
def _global_options(
    ctx: typer.Context,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False, help="Show more detail (repeatable)."
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Show only errors (overrides --verbose).")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            callback=_show_version,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    ctx.obj = Output(verbosity=-1 if quiet else min(verbose, 2))
    # -v: show the commands venvstacks runs and what they print.
    tools = logging.getLogger("venvstacks.tools")
    if not any(isinstance(h, _EchoHandler) for h in tools.handlers):
        tools.addHandler(_EchoHandler())
    tools.setLevel(logging.DEBUG if verbose and not quiet else logging.WARNING)


@app.command(cls=Command)
def show(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),  # noqa: ARG001 (accepted for venvstacks 0.8 compatibility; show reads no build output)
    json: Json = False,
) -> None:
    """Show the layers of a stack, their dependencies and whether they are locked.

    Layers are listed per kind in definition order; each framework and application
    lists the layers it runs on in sys.path order.  '*' marks a layer without a
    valid lock; 'name -> name@N' shows the deployed name of a versioned layer.
    """
    output: Output = ctx.obj

    def action() -> None:
        status = show_stack(spec_path, include or (), allow_missing=allow_missing)
        output.warn_loaded(status.spec.warnings, status.unmatched_patterns)
        output.detail(
            f"{spec_path}: {len(status.spec.graph.layers)} layers, {len(status.layers)} selected"
        )
        print_status(status, json_output=json)

    run_guarded(output, action)


app.command(cls=Command)(lock)
app.command(cls=Command)(build)
app.command(cls=Command)(publish)
app.command("local-export", cls=Command)(local_export)
app.command(cls=Command)(deploy)
app.command(cls=Command)(keygen)
app.command(cls=Command)(verify)
app.command(cls=Command)(sizes)
app.add_typer(python_app)
app.add_typer(cache_app)
app.add_typer(store_app)


def main() -> None:
    """Run the ``venvstacks`` command line."""
    app(prog_name="venvstacks")
