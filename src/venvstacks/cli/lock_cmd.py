"""``venvstacks lock``: resolve the selected layers and write their lock files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from venvstacks.cli.options import (
    AllowMissing,
    BuildDir,
    Include,
    Index,
    Json,
    LocalWheels,
    LockDependencies,
    LockTimeout,
    PythonMirror,
    ResetLock,
    Show,
    ShowOnly,
    SpecPath,
)
from venvstacks.cli.output import LockWaitSpinner, Output, run_guarded
from venvstacks.cli.render import print_status, render_lock_result
from venvstacks.pipeline import LockOptions, lock_stack, plan_lock


def lock(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),
    if_needed: Annotated[
        bool,
        typer.Option(
            "--if-needed/--no-if-needed",
            help="Only lock layers whose lock is missing or out of date.",
        ),
    ] = False,
    reset_lock: ResetLock = None,
    lock_dependencies: LockDependencies = False,
    clean: Annotated[
        bool,
        typer.Option(
            "--clean/--no-clean", help="Reinstall the runtimes locking uses before locking."
        ),
    ] = False,
    show: Show = False,
    show_only: ShowOnly = False,
    json_output: Json = False,
    index: Index = True,
    local_wheels: LocalWheels = None,
    python_mirror: PythonMirror = None,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Lock the layers of a stack for all of their target platforms.

    Each layer is resolved with uv on top of the layers below it, and written to
    requirements/<layer>/ as pylock.<group>.toml with its metadata, a package
    summary and a hash-pinned requirements file per target platform.  Without
    --if-needed every selected layer is resolved again; unchanged results leave
    the files (and versions) as they were.  --json implies --show-only unless
    --show is given.
    """
    output: Output = ctx.obj
    options = LockOptions(
        include=tuple(include or ()),
        allow_missing=allow_missing,
        if_needed=if_needed,
        reset_lock=tuple(reset_lock or ()),
        lock_dependencies=lock_dependencies,
        clean=clean,
        build_dir=build_dir,
        index=index,
        local_wheels=tuple(local_wheels or ()),
        python_mirror=python_mirror,
        lock_timeout=lock_timeout,
    )
    show_only = show_only or (json_output and not show)

    def action() -> None:
        # With --json, one document: the plan (--show-only), or the status after locking.
        if show_only or (show and not json_output):
            plan = plan_lock(spec_path, options)
            output.warn_loaded(plan.spec.warnings, plan.unmatched_patterns)
            print_status(plan, json_output=json_output, with_dependencies=False)
            if show_only:
                return
        result = lock_stack(spec_path, options, LockWaitSpinner(output))
        if not (show and not json_output):  # else already warned when the plan was shown
            output.warn_loaded(result.spec.warnings, result.unmatched_patterns)
        if json_output:  # the plan again, now showing the new locks
            print_status(plan_lock(spec_path, options), json_output=True, with_dependencies=False)
        elif output.verbosity >= 0:
            typer.echo(render_lock_result(result))

    run_guarded(output, action)
