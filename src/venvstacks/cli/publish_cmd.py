"""``venvstacks publish``: reproducible archives of built layers, plus their metadata."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from venvstacks.archives import ARCHIVE_FORMATS, ArchiveFormat
from venvstacks.cli.options import AllowMissing, BuildDir, Json, LockTimeout, SpecPath
from venvstacks.cli.output import LockWaitSpinner, Output, run_guarded
from venvstacks.pipeline import PublishOptions, export_stack, publish_stack
from venvstacks.publish.publisher import PublishedStack
from venvstacks.signing import SecretKey, load_secret_key

Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="PATTERN",
        help="Only publish layers whose build name matches this fnmatch pattern (repeatable); "
        "see --publish-dependencies and --publish-derived for the layers around them.",
    ),
]
OutputDir = Annotated[
    Path,
    typer.Option(
        "--output-dir",
        "-o",
        metavar="DIR",
        help="Folder for archives and metadata, relative to the spec's folder.",
    ),
]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help=f"Archive format: {', '.join(ARCHIVE_FORMATS)} (default: zip on Windows, tar.xz elsewhere).",
        show_default=False,
    ),
]
TagOutputs = Annotated[
    bool,
    typer.Option(
        "--tag-outputs/--no-tag-outputs",
        help="Add the platform and build number to archive names, the platform to metadata names.",
    ),
]
PublishDependencies = Annotated[
    bool,
    typer.Option(
        "--publish-dependencies/--no-publish-dependencies",
        help="With --include, also publish the layers the included ones run on.",
    ),
]
PublishDerived = Annotated[
    bool,
    typer.Option(
        "--publish-derived/--no-publish-derived",
        help="With --include, also publish the layers that run on the included ones.",
    ),
]
SIGN_KEY_ENV_VAR = "VENVSTACKS_SIGN_KEY"
SignKey = Annotated[
    Path | None,
    typer.Option(
        "--sign-key",
        metavar="FILE",
        envvar=SIGN_KEY_ENV_VAR,
        show_envvar=True,
        help="Sign each manifest written with this secret key ('venvstacks keygen' makes one; "
        "minisign keys without a password work too): writes <manifest>.minisig beside it.",
        show_default=False,
    ),
]


def load_sign_key(path: Path | None) -> SecretKey | None:
    """Read the ``--sign-key`` file (before any work, so a bad key fails at once)."""
    return load_secret_key(path) if path is not None else None


def parse_format(value: str | None) -> ArchiveFormat | None:
    """Check a ``--format`` value."""
    if value is None:
        return None
    if value not in ARCHIVE_FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(ARCHIVE_FORMATS)}")
    return value


class ArchiveBars:
    """A spinner per archive being written (on a terminal, unless -q or --json)."""

    def __init__(self, output: Output, *, json_output: bool) -> None:
        console = Console(stderr=True)
        self._progress: Progress | None = None
        if console.is_terminal and output.verbosity >= 0 and not json_output:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=console, transient=True,
            )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ArchiveBars:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def archive_started(self, name: str) -> None:
        """Show a spinner for the archive *name*."""
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(f"Archiving {name}", total=None)

    def archive_finished(self, name: str) -> None:
        """Remove the archive's spinner."""
        if self._progress is not None and name in self._tasks:
            self._progress.remove_task(self._tasks.pop(name))


def report_publication(output: Output, published: PublishedStack, *, json_output: bool) -> None:
    """Print what a publication wrote (or would write, for a dry run)."""
    if json_output:
        typer.echo(json.dumps(published.manifest, indent=2, sort_keys=True))
        return
    if output.verbosity < 0:
        return
    if published.dry_run:
        typer.echo("Dry run: this is what would be published:")
        typer.echo(json.dumps(published.manifest, indent=2, sort_keys=True))
        typer.echo(f"Target folder: {published.output_dir}")
        return
    typer.echo(f"Published to {published.output_dir}:")
    for layer in published.layers:
        state = "archived" if layer.rebuilt else "unchanged"
        typer.echo(f"  {layer.metadata['archive_name']}  ({state})")
    typer.echo(f"Stack manifest: {published.manifest_path.relative_to(published.output_dir)}")


def publish(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),
    output_dir: OutputDir = Path("_artifacts"),
    archive_format: Format = None,
    tag_outputs: TagOutputs = False,
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Archive layers again even when unchanged.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--no-dry-run", help="Print what would be published; write nothing."
        ),
    ] = False,
    publish_dependencies: PublishDependencies = False,
    publish_derived: PublishDerived = False,
    json_output: Json = False,
    lock_timeout: LockTimeout = 0.0,
    sign_key: SignKey = None,
) -> None:
    """Publish built layers as reproducible archives with their metadata.

    Each layer becomes one archive named after its deployed folder; metadata goes
    to __venvstacks__/ in the output folder.  Layers whose inputs are unchanged
    since the last publication to that folder are not archived again.  The same
    built layers always give byte-identical archives.
    """
    output: Output = ctx.obj
    options = PublishOptions(
        include=tuple(include or ()),
        allow_missing=allow_missing,
        publish_dependencies=publish_dependencies,
        publish_derived=publish_derived,
        build_dir=build_dir,
        output_dir=output_dir,
        archive_format=parse_format(archive_format),
        tag_outputs=tag_outputs,
        force=force,
        dry_run=dry_run,
        lock_timeout=lock_timeout,
    )

    def action() -> None:
        signed = replace(options, sign_key=load_sign_key(sign_key))
        report_publication(
            output,
            publish_stack(spec_path, signed, waiting=LockWaitSpinner(output)),
            json_output=json_output,
        )

    run_guarded(output, action)


def local_export(
    ctx: typer.Context,
    spec_path: SpecPath = Path("venvstacks.toml"),
    include: Include = None,
    allow_missing: AllowMissing = False,
    build_dir: BuildDir = Path("_build"),
    output_dir: OutputDir = Path("_export"),
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Export layers again even when unchanged.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run/--no-dry-run", help="Print what would be exported; write nothing."),
    ] = False,
    publish_dependencies: PublishDependencies = False,
    publish_derived: PublishDerived = False,
    json_output: Json = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Copy built layers into a local folder, ready to run.

    The folder gets what archives would hold, one folder per layer under its
    deployed name (files hard-linked from the build folder where possible), then
    each layer's postinstall.py is run there.  Metadata goes to __venvstacks__/.
    """
    output: Output = ctx.obj
    options = PublishOptions(
        include=tuple(include or ()),
        allow_missing=allow_missing,
        publish_dependencies=publish_dependencies,
        publish_derived=publish_derived,
        build_dir=build_dir,
        output_dir=output_dir,
        force=force,
        dry_run=dry_run,
        lock_timeout=lock_timeout,
    )

    def action() -> None:
        exported = export_stack(spec_path, options, LockWaitSpinner(output))
        if json_output:
            typer.echo(json.dumps(exported.manifest, indent=2, sort_keys=True))
        elif exported.dry_run and output.verbosity >= 0:
            typer.echo("Dry run: this is what would be exported:")
            typer.echo(json.dumps(exported.manifest, indent=2, sort_keys=True))
            typer.echo(f"Target folder: {exported.output_dir}")
        elif output.verbosity >= 0:
            typer.echo(f"Exported to {exported.output_dir}:")
            for layer in exported.layers:
                state = "exported" if layer.rebuilt else "unchanged"
                typer.echo(f"  {layer.path.name}  ({state})")

    run_guarded(output, action)
