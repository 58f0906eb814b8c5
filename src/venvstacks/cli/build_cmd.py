"""``venvstacks build``: build the selected layers' environments for this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.status import Status

from venvstacks.builder.stack import BuiltLayer
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
from venvstacks.cli.publish_cmd import (
    ArchiveBars,
    Format,
    OutputDir,
    PublishDependencies,
    PublishDerived,
    SignKey,
    TagOutputs,
    load_sign_key,
    parse_format,
    report_publication,
)
from venvstacks.cli.render import print_status
from venvstacks.pipeline import (
    BuildOptions,
    PublishOptions,
    build_stack,
    hold_stack_folders,
    plan_build,
    publish_stack,
)
from venvstacks.signing import SecretKey


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
    reset_lock: ResetLock = None,
    lock_dependencies: LockDependencies = False,
    build: Annotated[
        bool,
        typer.Option(
            "--build/--no-build", help="Build the selected layers (--no-build: only lock)."
        ),
    ] = True,
    build_dependencies: Annotated[
        bool,
        typer.Option(
            "--build-dependencies/--no-build-dependencies",
            help="With --include and --clean, rebuild the layers the included ones run on from scratch too.",
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
    index: Index = True,
    local_wheels: LocalWheels = None,
    python_mirror: PythonMirror = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish/--no-publish", help="Publish the built layers' archives afterwards."
        ),
    ] = False,
    output_dir: OutputDir = Path("_artifacts"),
    archive_format: Format = None,
    tag_outputs: TagOutputs = False,
    publish_dependencies: PublishDependencies = False,
    publish_derived: PublishDerived = False,
    sign_key: SignKey = None,
    show: Show = False,
    show_only: ShowOnly = False,
    json_output: Json = False,
    lock_timeout: LockTimeout = 0.0,
) -> None:
    """Build the layers of a stack for this machine from their locks (and publish them).

    Runtimes are installed from their source (see --python-mirror); framework and
    application layers become virtual environments on them, with the locked
    packages installed by uv, bytecode compiled, and the layers below made
    importable.  Layers whose inputs are unchanged since their last build are
    left alone.  With --include, the included layers and the layers they run on
    are built.  --publish then archives them as 'venvstacks publish' does.
    """
    output: Output = ctx.obj
    options = BuildOptions(
        include=tuple(include or ()),
        allow_missing=allow_missing,
        lock_if_needed=lock_if_needed,
        reset_lock=tuple(reset_lock or ()),
        build=build,
        build_dependencies=build_dependencies,
        build_derived=build_derived,
        include_dependencies=include_dependencies,
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
        key = load_sign_key(sign_key) if publish else None
        # With --json, one document: the plan (--show-only), or the status after building.
        if show_only or (show and not json_output):
            plan = plan_build(spec_path, options)
            print_status(plan, json_output=json_output, with_dependencies=False)
            if show_only:
                return
        # With --publish, the output folder is held from the start: a build that
        # would only fail to publish later must not begin.
        folders = [build_dir, output_dir] if publish else [build_dir]
        with hold_stack_folders(
            spec_path,
            folders,
            command="build",
            timeout=lock_timeout,
            reporter=LockWaitSpinner(output),
        ):
            build_and_publish(key)

    def build_and_publish(key: SecretKey | None) -> None:
        reporter = None if json_output else _ProgressReporter(output)
        try:
            result = build_stack(spec_path, options, reporter)
        finally:
            if reporter is not None:
                reporter.close()
        output.warn_loaded(result.spec.warnings, result.unmatched_patterns)
        if publish:
            with ArchiveBars(output, json_output=json_output) as bars:
                published = publish_stack(
                    spec_path,
                    PublishOptions(
                        include=options.include,
                        allow_missing=allow_missing,
                        publish_dependencies=publish_dependencies or bool(include_dependencies),
                        publish_derived=publish_derived,
                        build_dir=build_dir,
                        output_dir=output_dir,
                        archive_format=parse_format(archive_format),
                        tag_outputs=tag_outputs,
                        force=clean,  # a clean build is archived again
                        sign_key=key,
                    ),
                    bars,
                )
            report_publication(output, published, json_output=json_output)
        elif json_output:  # the plan again, now showing the new locks
            print_status(plan_build(spec_path, options), json_output=True, with_dependencies=False)

    run_guarded(output, action)


class _ProgressReporter:
    """Prints one line per layer as it is built (a spinner while it builds, on a terminal)."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._console = Console(highlight=False, soft_wrap=True, stderr=False)
        self._status: Status | None = None

    def layer_started(self, build_name: str) -> None:
        if self._output.verbosity >= 0 and self._console.is_terminal:
            self._status = self._console.status(f"Building {build_name}...")
            self._status.start()

    def close(self) -> None:
        """Stop the spinner (also when a build fails)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def layer_finished(self, layer: BuiltLayer) -> None:
        self.close()
        if self._output.verbosity >= 0:
            state = "built" if layer.rebuilt else "up to date"
            self._console.print(f"{layer.build_name}: {state} ({layer.path})")
