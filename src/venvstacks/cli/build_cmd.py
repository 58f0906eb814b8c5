"""``venvstacks build``: build the selected layers' environments for this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from venvstacks.cli.options import AllowMissing, BuildDir, Include, PythonMirror, SpecPath
from venvstacks.cli.output import Output, run_guarded
from venvstacks.pipeline import BuildOptions, build_stack


def build(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),
    lock_if_needed: Annotated[
        bool,
        typer.Option(
            "--lock-if-needed/--no-lock-if-needed",
            "--lock",
            help="Lock layers whose lock is missing or out of date before building ('--lock' is a deprecated alias).",
        ),
    ] = False,
    reset_lock: Annotated[
        list[str] | None,
        typer.Option(
            "--reset-lock",
            metavar="PATTERN",
            help="Relock matching layers from scratch before building (repeatable).",
        ),
    ] = None,
    lock_dependencies: Annotated[
        bool,
        typer.Option(
            "--lock-dependencies/--no-lock-dependencies",
            help="With --include, relock the layers the included ones run on too.",
        ),
    ] = False,
    build_derived: Annotated[
        bool,
        typer.Option(
            "--build-derived/--no-build-derived",
            help="With --include, also build the layers that run on the included ones.",
        ),
    ] = False,
    include_dependencies: Annotated[
        bool | None,
        typer.Option(
            "--include-dependencies/--no-include-dependencies",
            help="Shorthand for --lock-dependencies.",
            show_default=False,
        ),
    ] = None,
    clean: Annotated[
        bool,
        typer.Option("--clean/--no-clean", help="Rebuild the selected layers from scratch."),
    ] = False,
    index: Annotated[
        bool,
        typer.Option(
            "--index/--no-index", help="When locking, query the configured package indexes."
        ),
    ] = True,
    local_wheels: Annotated[
        list[Path] | None,
        typer.Option(
            "--local-wheels",
            metavar="DIR",
            help="When locking, resolve from this folder of wheels too (repeatable).",
        ),
    ] = None,
    python_mirror: PythonMirror = None,
) -> None:
    """Build the layers of a stack for this machine from their locks.

    Runtimes are installed from their source (see --python-mirror); framework and
    application layers become virtual environments on them, with the locked
    packages installed by uv, bytecode compiled, and the layers below made
    importable.  Layers whose inputs are unchanged since their last build are
    left alone.  With --include, the included layers and the layers they run on
    are built.
    """
    output: Output = ctx.obj
    options = BuildOptions(
        include=tuple(include or ()),
        allow_missing=allow_missing,
        lock_if_needed=lock_if_needed,
        reset_lock=tuple(reset_lock or ()),
        build_derived=build_derived,
        include_dependencies=include_dependencies,
        lock_dependencies=lock_dependencies,
        clean=clean,
        build_dir=build_dir,
        index=index,
        local_wheels=tuple(local_wheels or ()),
        python_mirror=python_mirror,
    )

    def action() -> None:
        result = build_stack(spec_path, options)
        for warning in result.spec.warnings:
            output.warn(warning.render())
        for pattern in result.unmatched_patterns:
            output.warn(f"no layers match {pattern!r}")
        if output.verbosity < 0:
            return
        for layer in result.built:
            state = "built" if layer.rebuilt else "up to date"
            typer.echo(f"{layer.build_name}: {state} ({layer.path})")

    run_guarded(output, action)
