"""``venvstacks build``: the layers to build, locking first when asked, and the build itself."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from venvstacks.builder.stack import (
    BuildReporter,
    BuiltLayer,
    build_layers,
    compute_host_platform,
)
from venvstacks.builder.stamp import recover_build_folder
from venvstacks.cache import (
    find_max_size,
    prune_cache,
)
from venvstacks.lock.locker import LockedLayer, LockInstruction
from venvstacks.lock.status import compute_stack_lock_status
from venvstacks.locks import LockWaitReporter, hold_folders
from venvstacks.pipeline.locking import (
    LockOptions,
    compute_lock_instructions,
    find_cache,
    lock_stack,
    render_operations,
)
from venvstacks.pipeline.publishing import PublishOptions, compute_publish_selection
from venvstacks.pipeline.status import (
    RecoveryHandler,
    StackStatus,
    describe_layer,
    report_recovery,
    resolve_option_path,
)
from venvstacks.runtimes.install import find_runtime_source
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName
from venvstacks.spec.selection import LayerSelection, select_layers


@dataclass(frozen=True)
class BuildOptions:
    """The ``venvstacks build`` options that decide what is locked and built."""

    include: tuple[str, ...] = ()
    allow_missing: bool = False
    lock_if_needed: bool = False
    reset_lock: tuple[str, ...] = ()
    build: bool = True
    build_dependencies: bool = False
    build_derived: bool = False
    include_dependencies: bool | None = None
    lock_dependencies: bool = False
    clean: bool = False
    build_dir: Path = Path("_build")
    index: bool = True
    local_wheels: tuple[Path, ...] = ()
    python_mirror: Path | None = None
    lock_timeout: float = 0.0
    cache: bool = True


@dataclass(frozen=True)
class BuildResult:
    """The outcome of ``venvstacks build``: what was locked, what was built."""

    spec: StackSpec
    locked: tuple[LockedLayer, ...]
    built: tuple[BuiltLayer, ...]
    unmatched_patterns: tuple[str, ...] = ()


def compute_build_selection(spec: StackSpec, options: BuildOptions) -> LayerSelection:
    """Select the layers to build: included ones, what they run on, and derived ones on request."""
    return select_layers(
        spec.graph,
        options.include,
        allow_missing=options.allow_missing,
        include_derived=options.build_derived,
    )


def resolve_include_dependencies(options: BuildOptions) -> BuildOptions:
    """Apply ``--include-dependencies``, which overrides the per-operation options.

    When given, it sets ``--lock-dependencies`` and ``--build-dependencies`` (and
    ``--publish-dependencies``, which the CLI passes on) to its value, as in 0.8.
    """
    value = options.include_dependencies
    if value is None:
        return options
    return dataclasses.replace(
        options, lock_dependencies=value, build_dependencies=value, include_dependencies=None
    )


def compute_build_operations(
    spec: StackSpec, options: BuildOptions
) -> tuple[LayerSelection, dict[BuildName, tuple[str, ...]]]:
    """Decide which layers ``build`` locks and builds, with their operation labels."""
    options = resolve_include_dependencies(options)
    selection = compute_build_selection(spec, options)
    locks: dict[BuildName, LockInstruction] = {}
    if options.lock_if_needed or options.reset_lock:
        locks, _ = compute_lock_instructions(spec, _lock_options(options))
    operations: dict[BuildName, tuple[str, ...]] = {}
    for layer in selection.layers:
        name = layer.build_name
        labels = list(render_operations(locks[name])) if name in locks else []
        if options.build:
            dependency = name in selection.dependencies and not options.build_dependencies
            labels.append("build-if-needed" if dependency else "build")
        operations[name] = tuple(labels)
    return selection, operations


def _lock_options(options: BuildOptions) -> LockOptions:
    return LockOptions(
        include=options.include,
        allow_missing=options.allow_missing,
        if_needed=not options.reset_lock,
        reset_lock=options.reset_lock,
        lock_dependencies=resolve_include_dependencies(options).lock_dependencies,
        build_dir=options.build_dir,
        index=options.index,
        local_wheels=options.local_wheels,
        python_mirror=options.python_mirror,
        lock_timeout=options.lock_timeout,
        cache=options.cache,
    )


def plan_build(
    spec_path: Path, options: BuildOptions, publish: PublishOptions | None = None
) -> StackStatus:
    """Describe what ``venvstacks build`` would do (``--show``), without doing it.

    With *publish* (``build --publish``), the layers it publishes also get the
    operation ``publish``.
    """
    spec = load_stack_spec(spec_path)
    selection, operations = compute_build_operations(spec, options)
    if publish is not None:
        host = compute_host_platform()
        published = set(compute_publish_selection(spec, publish))
        for layer in selection.layers:
            if layer.build_name in published and host in layer.platforms:
                operations[layer.build_name] += ("publish",)
    locks = compute_stack_lock_status(spec)
    layers = tuple(
        describe_layer(layer, locks, operations=operations[layer.build_name])
        for layer in selection.layers
    )
    return StackStatus(spec=spec, layers=layers, unmatched_patterns=selection.unmatched)


def build_stack(
    spec_path: Path,
    options: BuildOptions,
    reporter: BuildReporter | None = None,
    waiting: LockWaitReporter | None = None,
    on_recovery: RecoveryHandler | None = None,
) -> BuildResult:
    """Lock (only when asked to), then build the selected layers of the stack at *spec_path*.

    ``--clean`` rebuilds the included layers from scratch, their dependencies too
    with ``--build-dependencies``, and derived layers when they are built.
    Holds the build folder throughout, waiting for it up to
    ``options.lock_timeout`` seconds; the folder is first repaired if an
    earlier run was killed.
    """
    spec = load_stack_spec(spec_path)
    options = resolve_include_dependencies(options)
    build_dir = resolve_option_path(spec, options.build_dir)
    with hold_folders([build_dir], command="build", timeout=options.lock_timeout, reporter=waiting):
        return _build_stack(
            spec_path, spec, options, reporter=reporter, waiting=waiting, on_recovery=on_recovery
        )


def _build_stack(
    spec_path: Path,
    spec: StackSpec,
    options: BuildOptions,
    *,
    reporter: BuildReporter | None,
    waiting: LockWaitReporter | None,
    on_recovery: RecoveryHandler | None,
) -> BuildResult:
    selection, operations = compute_build_operations(spec, options)
    report_recovery(recover_build_folder(resolve_option_path(spec, options.build_dir)), on_recovery)
    locked: tuple[LockedLayer, ...] = ()
    if options.lock_if_needed or options.reset_lock:
        locked = lock_stack(spec_path, _lock_options(options), waiting, on_recovery).locked
    built: tuple[BuiltLayer, ...] = ()
    if options.build:
        clean = set(selection.included | selection.derived) if options.clean else set()
        if options.clean and options.build_dependencies:
            clean |= selection.dependencies
        cache = find_cache(options.cache)
        max_size = find_max_size(os.environ) if cache is not None else 0
        built = build_layers(
            spec,
            compute_stack_lock_status(spec),
            [name for name, ops in operations.items() if ops and ops[-1].startswith("build")],
            build_dir=resolve_option_path(spec, options.build_dir),
            source=find_runtime_source(options.python_mirror, os.environ),
            clean=clean,
            reporter=reporter,
            cache=cache,
        )
        if cache is not None:
            prune_cache(cache, max_size)
    return BuildResult(spec, locked, built, selection.unmatched)
