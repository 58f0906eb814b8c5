"""``venvstacks store ...``: releases of published layers on the machine that runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from venvstacks.cli.deploy_cmd import (
    ArtifactDir,
    DeployInclude,
    Platform,
    TrustedKeys,
    load_trusted_keys,
)
from venvstacks.cli.options import Command, LockTimeout
from venvstacks.cli.output import LockWaitSpinner, Output, run_guarded
from venvstacks.cli.store_render import (
    render_add_text,
    render_gc_text,
    render_list_text,
    render_result_json,
    render_switch_text,
)
from venvstacks.store import (
    add_release,
    collect_garbage,
    find_app,
    list_store,
    pin_release,
    rollback_release,
    switch_release,
)
from venvstacks.tools._subprocess import launch

STORE_ENV_VAR = "VENVSTACKS_STORE"
R = TypeVar("R", bound=BaseModel)

store_app = typer.Typer(
    name="store",
    help="A layer store: add releases of published layers, switch, roll back, collect garbage.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Store = Annotated[
    Path,
    typer.Option(
        "--store",
        metavar="DIR",
        envvar=STORE_ENV_VAR,
        help=f"The store folder (or set {STORE_ENV_VAR}).",
        show_default=False,
    ),
]
StoreJson = Annotated[
    bool,
    typer.Option("--json/--no-json", help="Print the result as JSON (see docs/store.md)."),
]
ReleaseId = Annotated[int, typer.Argument(metavar="ID", min=1, help="The release id.")]


def _report(
    ctx: typer.Context,
    work: Callable[[LockWaitSpinner], R],
    render: Callable[[R], str],
    *,
    json_output: bool,
    spinner: str = "",
) -> None:
    output: Output = ctx.obj

    def action() -> None:
        console = Console(stderr=True)
        if spinner and console.is_terminal and output.verbosity >= 0 and not json_output:
            with console.status(spinner) as status:
                result = work(LockWaitSpinner(output, status))
        else:
            result = work(LockWaitSpinner(output))
        for note in getattr(result, "recovered", ()):
            output.warn(f"recovered: {note}")
        if json_output:
            typer.echo(render_result_json(result), nl=False)
        elif output.verbosity >= 0:
            typer.echo(render(result), nl=False)

    run_guarded(output, action)


@store_app.command(cls=Command)
def add(
    ctx: typer.Context,
    artifact_dir: ArtifactDir,
    *,
    store: Store,
    include: DeployInclude = None,
    platform: Platform = None,
    trusted_key: TrustedKeys = None,
    no_switch: Annotated[
        bool, typer.Option("--no-switch", help="Record the release without making it current.")
    ] = False,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Add published layers as a new release and make it current.

    Only the layers the store does not hold yet are verified, unpacked and
    post-installed (a layer folder is shared by releases only when its archive
    and every layer below it are the same).  Nothing is visible until every
    layer is complete; an interrupted add resumes where it stopped.  Prints
    the release id and how to launch each application.
    """
    _report(
        ctx,
        lambda waiting: add_release(
            store,
            artifact_dir,
            include=include or (),
            platform=platform,
            trusted_keys=load_trusted_keys(trusted_key or ()),
            switch=not no_switch,
            lock_timeout=lock_timeout,
            waiting=waiting,
        ),
        render_add_text,
        json_output=json_output,
        spinner=f"Adding {artifact_dir} to {store}...",
    )


@store_app.command("list", cls=Command)
def list_(
    ctx: typer.Context,
    *,
    store: Store,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """List the releases, the layer folders with their sizes, and the current apps' commands."""
    _report(
        ctx,
        lambda waiting: list_store(store, lock_timeout=lock_timeout, waiting=waiting),
        render_list_text,
        json_output=json_output,
    )


@store_app.command(cls=Command)
def switch(
    ctx: typer.Context,
    release: ReleaseId,
    *,
    store: Store,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Make release ID current (instant: nothing is unpacked or post-installed)."""
    _report(
        ctx,
        lambda waiting: switch_release(store, release, lock_timeout=lock_timeout, waiting=waiting),
        render_switch_text,
        json_output=json_output,
    )


@store_app.command(cls=Command)
def rollback(
    ctx: typer.Context,
    *,
    store: Store,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Switch back to the release that was current before this one."""
    _report(
        ctx,
        lambda waiting: rollback_release(store, lock_timeout=lock_timeout, waiting=waiting),
        render_switch_text,
        json_output=json_output,
    )


@store_app.command(cls=Command)
def pin(
    ctx: typer.Context,
    release: ReleaseId,
    *,
    store: Store,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Pin release ID: gc keeps it until it is unpinned."""
    _report(
        ctx,
        lambda waiting: pin_release(store, release, lock_timeout=lock_timeout, waiting=waiting),
        lambda _result: f"Release {release} is pinned\n",
        json_output=json_output,
    )


@store_app.command(cls=Command)
def unpin(
    ctx: typer.Context,
    release: ReleaseId,
    *,
    store: Store,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Unpin release ID: gc may remove it again."""
    _report(
        ctx,
        lambda waiting: pin_release(
            store, release, pinned=False, lock_timeout=lock_timeout, waiting=waiting
        ),
        lambda _result: f"Release {release} is not pinned\n",
        json_output=json_output,
    )


@store_app.command(cls=Command)
def gc(
    ctx: typer.Context,
    *,
    store: Store,
    keep: Annotated[
        int,
        typer.Option("--keep", metavar="N", min=0, help="Keep the N newest releases."),
    ] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be removed.")
    ] = False,
    json_output: StoreJson = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Remove old releases and the layer folders no kept release needs; print what it frees.

    Kept: the current release, the release 'rollback' returns to, pinned
    releases and the N newest.  A layer folder a kept release needs is never
    removed.
    """
    _report(
        ctx,
        lambda waiting: collect_garbage(
            store, keep=keep, dry_run=dry_run, lock_timeout=lock_timeout, waiting=waiting
        ),
        render_gc_text,
        json_output=json_output,
    )


@store_app.command(
    cls=Command,
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
    },
)
def run(
    ctx: typer.Context,
    app: Annotated[
        str,
        typer.Argument(
            metavar="APP",
            help="The application's build name (app-x) or deployed name (app-x@1).",
            show_default=False,
        ),
    ],
    *,
    store: Store,
    release: Annotated[
        int | None,
        typer.Option(
            "--release",
            metavar="ID",
            min=1,
            help="Run the app of this release, not the current one.",
        ),
    ] = None,
) -> None:
    """Run an application of the current release with its launch module: store run APP [ARGS]...

    Options for the store go before APP; everything after APP is passed to the
    application.  The exit status is the application's.
    """
    output: Output = ctx.obj
    status: list[int] = []

    def action() -> None:
        found = find_app(store, app, release=release)
        output.detail(f"release {found.release}: {' '.join(found.app.command)}")
        status.append(launch([*found.app.command, *ctx.args]))

    run_guarded(output, action)
    raise typer.Exit(status[0])
