"""``venvstacks publish`` and ``local-export``: the layers to publish, holds, recovery, and the run."""

from __future__ import annotations

import contextlib
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from venvstacks import __version__
from venvstacks.archives import ArchiveFormat
from venvstacks.builder.stack import (
    compute_host_platform,
)
from venvstacks.builder.stamp import recover_build_folder
from venvstacks.errors import PublishError
from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.locks import LockWaitReporter, hold_folders
from venvstacks.pipeline.status import (
    RecoveryHandler,
    StackStatus,
    describe_layer,
    report_recovery,
    resolve_option_path,
)
from venvstacks.publish.commit import recover_publication
from venvstacks.publish.export import ExportedStack, export_layers, recover_export
from venvstacks.publish.publisher import ArchiveProgress, PublishedStack, publish_layers
from venvstacks.signing import SecretKey
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName
from venvstacks.spec.selection import LayerSelection, select_layers
from venvstacks.tools.uv import uv_version


@dataclass(frozen=True)
class PublishOptions:
    """The ``venvstacks publish`` options."""

    include: tuple[str, ...] = ()
    allow_missing: bool = False
    publish_dependencies: bool = False
    publish_derived: bool = False
    build_dir: Path = Path("_build")
    output_dir: Path = Path("_artifacts")
    archive_format: ArchiveFormat | None = None
    tag_outputs: bool = False
    force: bool = False
    dry_run: bool = False
    lock_timeout: float = 0.0
    sign_key: SecretKey | None = None


def compute_default_format(platform: str = sys.platform) -> ArchiveFormat:
    """``zip`` on Windows, ``tar.xz`` elsewhere (as venvstacks 0.8)."""
    return "zip" if platform == "win32" else "tar.xz"


def _select_for_publication(
    spec: StackSpec, options: PublishOptions
) -> tuple[LayerSelection, frozenset[BuildName]]:
    selection = select_layers(
        spec.graph,
        options.include,
        allow_missing=options.allow_missing,
        include_derived=options.publish_derived,
    )
    chosen = selection.included | selection.derived
    if options.publish_dependencies:
        chosen |= selection.dependencies
    return selection, chosen


def compute_publish_selection(spec: StackSpec, options: PublishOptions) -> list[BuildName]:
    """Return the layers to publish: included ones, plus dependencies/derived on request."""
    _, chosen = _select_for_publication(spec, options)
    return [layer.build_name for layer in spec.graph if layer.build_name in chosen]


def load_publish_selection(
    spec_path: Path, options: PublishOptions
) -> tuple[StackSpec, LayerSelection]:
    """Load a stack and select the layers ``publish`` or ``local-export`` works on.

    Reads only the spec: the CLI uses it to report the spec's warnings and the
    ``--include`` patterns that matched nothing (with ``--allow-missing``).
    """
    spec = load_stack_spec(spec_path)
    return spec, _select_for_publication(spec, options)[0]


def plan_publish(spec_path: Path, options: PublishOptions) -> StackStatus:
    """Describe what ``publish`` or ``local-export`` would do (``--show``), without doing it.

    The included layers and the layers they run on are listed (derived layers with
    ``--publish-derived``); those to be published get the operation ``publish``.
    As in 0.8, a layer that does not target this machine's platform gets none.
    """
    spec = load_stack_spec(spec_path)
    selection, chosen = _select_for_publication(spec, options)
    host = compute_host_platform()
    locks = compute_stack_lock_status(spec)
    layers = tuple(
        describe_layer(
            layer,
            locks,
            operations=("publish",)
            if layer.build_name in chosen and host in layer.platforms
            else (),
        )
        for layer in selection.layers
    )
    return StackStatus(spec=spec, layers=layers, unmatched_patterns=selection.unmatched)


def _load_publishable(
    spec: StackSpec, options: PublishOptions
) -> tuple[StackSpec, dict[BuildName, LayerLockStatus], list[BuildName]]:
    """Select the layers of a stack to publish or export; all must be validly locked."""
    statuses = compute_stack_lock_status(spec)
    selected = compute_publish_selection(spec, options)
    invalid = [name for name in selected if not statuses[name].validity.is_valid]
    if invalid:
        raise PublishError(
            f"{', '.join(invalid)}: the lock is missing or out of date; run 'venvstacks lock' "
            "and 'venvstacks build' first"
        )
    return spec, statuses, selected


@contextlib.contextmanager
def _hold_publish_folders(
    spec: StackSpec, options: PublishOptions, command: str, waiting: LockWaitReporter | None
) -> Iterator[None]:
    """Hold the output folder, and the build folder read from (a dry run holds nothing)."""
    if options.dry_run:
        yield
        return
    folders = [
        resolve_option_path(spec, options.build_dir),
        resolve_option_path(spec, options.output_dir),
    ]
    with hold_folders(folders, command=command, timeout=options.lock_timeout, reporter=waiting):
        yield


def publish_stack(
    spec_path: Path,
    options: PublishOptions,
    progress: ArchiveProgress | None = None,
    waiting: LockWaitReporter | None = None,
    on_recovery: RecoveryHandler | None = None,
) -> PublishedStack:
    """Archive the selected built layers of the stack at *spec_path* (or plan it: ``dry_run``).

    Holds the build and output folders (see `_hold_publish_folders`); unless it
    is a dry run, they are first repaired if an earlier run was killed (an
    interrupted publication is finished).
    """
    spec = load_stack_spec(spec_path)
    with _hold_publish_folders(spec, options, "publish", waiting):
        if not options.dry_run:
            build_dir = resolve_option_path(spec, options.build_dir)
            report_recovery(recover_build_folder(build_dir), on_recovery)
            output_dir = resolve_option_path(spec, options.output_dir)
            report_recovery(recover_publication(output_dir), on_recovery)
        return _publish(*_load_publishable(spec, options), options, progress)


def _publish(
    spec: StackSpec,
    statuses: dict[BuildName, LayerLockStatus],
    selected: list[BuildName],
    options: PublishOptions,
    progress: ArchiveProgress | None,
) -> PublishedStack:
    return publish_layers(
        spec,
        statuses,
        selected,
        build_dir=resolve_option_path(spec, options.build_dir),
        output_dir=resolve_option_path(spec, options.output_dir),
        archive_format=options.archive_format or compute_default_format(),
        tag_outputs=options.tag_outputs,
        force=options.force,
        dry_run=options.dry_run,
        tools={
            "venvstacks": __version__,
            "uv": uv_version(),
            "python": platform.python_version(),
        },
        progress=progress,
        sign_key=options.sign_key,
    )


def export_stack(
    spec_path: Path,
    options: PublishOptions,
    waiting: LockWaitReporter | None = None,
    on_recovery: RecoveryHandler | None = None,
) -> ExportedStack:
    """Copy the selected built layers of the stack at *spec_path* into a local folder.

    Holds the build and export folders (a dry run holds nothing); unless it is a
    dry run, they are first repaired if an earlier run was killed.
    """
    spec = load_stack_spec(spec_path)
    with _hold_publish_folders(spec, options, "local-export", waiting):
        if not options.dry_run:
            build_dir = resolve_option_path(spec, options.build_dir)
            report_recovery(recover_build_folder(build_dir), on_recovery)
            report_recovery(
                recover_export(resolve_option_path(spec, options.output_dir)), on_recovery
            )
        return _export(*_load_publishable(spec, options), options)


def _export(
    spec: StackSpec,
    statuses: dict[BuildName, LayerLockStatus],
    selected: list[BuildName],
    options: PublishOptions,
) -> ExportedStack:
    return export_layers(
        spec,
        statuses,
        selected,
        build_dir=resolve_option_path(spec, options.build_dir),
        output_dir=resolve_option_path(spec, options.output_dir),
        force=options.force,
        dry_run=options.dry_run,
    )
