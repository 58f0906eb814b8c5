"""``venvstacks cache dir | info | clean``: the cache of compiled bytecode and extracted runtimes."""

from __future__ import annotations

import os

import typer

from venvstacks.cache import (
    CACHE_ENV_VAR,
    MAX_SIZE_ENV_VAR,
    clean_cache,
    compute_cache_info,
    find_cache_dir,
    find_max_size,
)
from venvstacks.cli.output import Output, run_guarded
from venvstacks.errors import VenvStacksError

cache_app = typer.Typer(
    name="cache",
    help="The venvstacks cache: bytecode and extracted runtimes shared by all builds.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def render_size(size: int) -> str:
    """Render a byte count in binary units (``1.5 MiB``)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":  # noqa: PLR2004 - binary units
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover - the loop always returns


@cache_app.command("dir")
def cache_dir(ctx: typer.Context) -> None:
    """Print the cache folder (set VENVSTACKS_CACHE_DIR to move it)."""
    output: Output = ctx.obj
    run_guarded(output, lambda: typer.echo(str(find_cache_dir(os.environ))))


@cache_app.command()
def info(ctx: typer.Context) -> None:
    """Show what the cache holds, its size and its size bound."""
    output: Output = ctx.obj

    def action() -> None:
        root = find_cache_dir(os.environ)
        found = compute_cache_info(root)
        limit = find_max_size(os.environ)
        typer.echo(f"Cache folder: {root}" + ("" if root.exists() else " (not created yet)"))
        typer.echo(f"Bytecode: {found.bytecode_entries} files, {render_size(found.bytecode_bytes)}")
        typer.echo(
            f"Runtimes: {found.runtime_entries} extracted, {render_size(found.runtime_bytes)}"
        )
        typer.echo(
            f"Total: {render_size(found.total_bytes)} of {render_size(limit)} "
            f"(least recently used entries are removed after a build; {MAX_SIZE_ENV_VAR} "
            "sets the bound)"
        )

    run_guarded(output, action)


@cache_app.command()
def clean(ctx: typer.Context) -> None:
    """Remove everything from the cache (builds then compile and extract afresh).

    Safe while builds run: a build that misses an entry makes it again.
    """
    output: Output = ctx.obj

    def action() -> None:
        root = find_cache_dir(os.environ)
        try:
            removed = clean_cache(root)
        except OSError as exc:
            raise VenvStacksError(
                f"{root}: can't remove the cache ({exc.strerror}); check its permissions, "
                f"or point {CACHE_ENV_VAR} elsewhere"
            ) from None
        if output.verbosity >= 0:
            typer.echo(f"Cleared the cache at {root}")
            typer.echo(
                f"Removed {removed.bytecode_entries} bytecode files and "
                f"{removed.runtime_entries} runtimes ({render_size(removed.total_bytes)})"
            )

    run_guarded(output, action)
