"""The operations behind each CLI command, as plain functions over the stages.

Each function takes the command's inputs, runs the stages in order and returns
an immutable result for the CLI to render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from packaging.version import InvalidVersion, Version

from venvstacks import __version__
from venvstacks.archives import ArchiveFormat
from venvstacks.builder.runtime import build_runtime_layer
from venvstacks.builder.stack import (
    BuildReporter,
    BuiltLayer,
    build_layers,
    compute_host_platform,
)
from venvstacks.builder.stamp import recover_build_folder
from venvstacks.cache import (
    CACHE_ENV_VAR,
    find_cache_dir,
    find_max_size,
    prepare_cache_dir,
    prune_cache,
)
from venvstacks.errors import PublishError, VenvStacksError
from venvstacks.fs import Recovery
from venvstacks.lock.locker import LockedLayer, LockInstruction, lock_layers
from venvstacks.lock.project import IndexOptions
from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.locks import LockWaitReporter, hold_folders
from venvstacks.publish.commit import recover_publication
from venvstacks.publish.export import ExportedStack, export_layers, recover_export
from venvstacks.publish.publisher import ArchiveProgress, PublishedStack, publish_layers
from venvstacks.runtimes.install import compute_runtime_python, find_runtime_source
from venvstacks.runtimes.requests import parse_runtime_request
from venvstacks.signing import SecretKey
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName, DeployedName, LayerKind, compute_deployed_name
from venvstacks.spec.selection import LayerSelection, select_layers
from venvstacks.tools.uv import uv_version

# Told what a command repaired after an earlier run was killed (the CLI prints one line).
RecoveryHandler = Callable[[Recovery], None]


def _report_recovery(recovery: Recovery, on_recovery: RecoveryHandler | None) -> None:
    if recovery and on_recovery is not None:
        on_recovery(recovery)


@dataclass(frozen=True)
class LayerStatus:
    """What ``show`` (and ``--show``) reports for one layer."""

    kind: LayerKind
    build_name: BuildName
    deployed_name: DeployedName
    has_valid_lock: bool
    dependencies: tuple[LayerStatus, ...] = ()
    operations: tuple[str, ...] | None = None
    exclude_packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackStatus:
    """What ``show`` reports for a stack: the selected layers in definition order."""

    spec: StackSpec
    layers: tuple[LayerStatus, ...]
    unmatched_patterns: tuple[str, ...] = ()


def _layer_status(
    layer: Layer,
    locks: Mapping[BuildName, LayerLockStatus],
    dependencies: tuple[LayerStatus, ...] = (),
    operations: tuple[str, ...] | None = None,
) -> LayerStatus:
    lock = locks.get(layer.build_name)
    return LayerStatus(
        kind=layer.kind,
        build_name=layer.build_name,
        deployed_name=lock.deployed_name
        if lock is not None
        else compute_deployed_name(layer.build_name, versioned=layer.versioned, lock_version=None),
        has_valid_lock=lock is not None and lock.validity.is_valid,
        dependencies=dependencies,
        operations=operations,
        exclude_packages=layer.exclude_packages,
    )


def show_stack(
    spec_path: Path, patterns: Sequence[str] = (), *, allow_missing: bool = False
) -> StackStatus:
    """Load a stack and describe the selected layers, their dependencies and their locks.

    With *patterns*, the matching layers, the layers they run on and the layers
    that run on them are described.  Reads the spec and the lock files; touches
    neither the network nor anything else.
    """
    spec = load_stack_spec(spec_path)
    selection = select_layers(spec.graph, patterns, allow_missing=allow_missing)
    locks = compute_stack_lock_status(spec)
    layers = tuple(
        _layer_status(
            layer,
            locks,
            tuple(_layer_status(dep, locks) for dep in spec.graph.dependencies(layer)),
        )
        for layer in selection.layers
    )
    return StackStatus(spec=spec, layers=layers, unmatched_patterns=selection.unmatched)


def resolve_option_path(spec: StackSpec, path: Path) -> Path:
    """Resolve a ``--build-dir``-style path: ``~`` expanded, relative to the spec's folder."""
    expanded = path.expanduser()
    if expanded.is_absolute():
        return Path(os.path.normpath(expanded))
    return Path(os.path.normpath(spec.spec_dir.absolute() / expanded))


@contextlib.contextmanager
def hold_stack_folders(
    spec_path: Path,
    folders: Iterable[Path],
    *,
    command: str,
    timeout: float = 0.0,
    reporter: LockWaitReporter | None = None,
) -> Iterator[None]:
    """Hold the locks of the *folders* of the stack at *spec_path* (``--build-dir``-style paths).

    For a command that runs several steps on the same folders (``build
    --publish``): each step takes the locks again, which nests.
    """
    spec = load_stack_spec(spec_path)  # a bad spec path must not create folders
    paths = [resolve_option_path(spec, folder) for folder in folders]
    with hold_folders(paths, command=command, timeout=timeout, reporter=reporter):
        yield


@dataclass(frozen=True)
class LockOptions:
    """The ``venvstacks lock`` options that decide what is locked and how."""

    include: tuple[str, ...] = ()
    allow_missing: bool = False
    if_needed: bool = False
    reset_lock: tuple[str, ...] = ()
    lock_dependencies: bool = False
    clean: bool = False
    build_dir: Path = Path("_build")
    index: bool = True
    local_wheels: tuple[Path, ...] = ()
    python_mirror: Path | None = None
    lock_timeout: float = 0.0
    cache: bool = True


def find_cache(enabled: bool) -> Path | None:
    """Return the venvstacks cache folder to use (created if needed); None with ``--no-cache``."""
    if not enabled:
        return None
    root = find_cache_dir(os.environ)
    try:
        prepare_cache_dir(root)
    except OSError as exc:
        raise VenvStacksError(
            f"{root}: can't create the venvstacks cache folder ({exc.strerror}); set "
            f"{CACHE_ENV_VAR} to a writable folder, or pass --no-cache"
        ) from None
    return root


def compute_lock_instructions(
    spec: StackSpec, options: LockOptions
) -> tuple[dict[BuildName, LockInstruction], LayerSelection]:
    """Decide which layers to lock and how (reference §1.5)."""
    graph = spec.graph
    reset_unmatched: tuple[str, ...] = ()
    if options.reset_lock:  # patterns matching nothing are an error unless --allow-missing
        resets = select_layers(graph, options.reset_lock, allow_missing=options.allow_missing)
        reset_unmatched = resets.unmatched

    def reset(name: BuildName) -> bool:
        return bool(options.reset_lock) and any(fnmatch(name, p) for p in options.reset_lock)

    selection = select_layers(
        graph,
        options.include,
        allow_missing=options.allow_missing,
        include_derived=not options.if_needed,
    )
    instructions: dict[BuildName, LockInstruction] = {}
    for name in selection.included:
        instructions[name] = LockInstruction(if_needed=options.if_needed, reset=reset(name))
    for name in selection.dependencies:
        relock = options.lock_dependencies
        instructions[name] = LockInstruction(if_needed=not relock, reset=relock and reset(name))
    for name in selection.derived:
        instructions[name] = LockInstruction(if_needed=False, reset=reset(name))
    unmatched = (
        *selection.unmatched,
        *(p for p in reset_unmatched if p not in selection.unmatched),
    )
    return instructions, dataclasses.replace(selection, unmatched=unmatched)


def render_operations(instruction: LockInstruction) -> tuple[str, ...]:
    """Return the operation labels of a lock instruction (``reset-lock``, ``lock``, ``lock-if-needed``)."""
    lock = "lock-if-needed" if instruction.if_needed else "lock"
    return ("reset-lock", lock) if instruction.reset else (lock,)


def plan_lock(spec_path: Path, options: LockOptions) -> StackStatus:
    """Describe what ``venvstacks lock`` would do (``--show``), without doing it."""
    spec = load_stack_spec(spec_path)
    instructions, selection = compute_lock_instructions(spec, options)
    locks = compute_stack_lock_status(spec)
    layers = tuple(
        _layer_status(layer, locks, operations=render_operations(instructions[layer.build_name]))
        for layer in selection.layers
    )
    return StackStatus(spec=spec, layers=layers, unmatched_patterns=selection.unmatched)


def _runtime_matches(runtime: Layer, folder: Path) -> bool:
    """Whether the runtime built in *folder* is the one *runtime* asks for now."""
    config = folder / "share" / "venv" / "metadata" / "venvstacks_layer.json"
    try:
        version = Version(json.loads(config.read_text(encoding="utf-8"))["py_version"])
    except (OSError, ValueError, KeyError, InvalidVersion):
        return False
    request = parse_runtime_request(runtime.python_implementation)
    return request.matches(version) and (folder / compute_runtime_python()).exists()


@dataclass(frozen=True)
class LockResult:
    """The outcome of ``venvstacks lock``."""

    spec: StackSpec
    locked: tuple[LockedLayer, ...]
    unmatched_patterns: tuple[str, ...] = ()


def lock_stack(
    spec_path: Path,
    options: LockOptions,
    waiting: LockWaitReporter | None = None,
    on_recovery: RecoveryHandler | None = None,
) -> LockResult:
    """Lock the selected layers of the stack at *spec_path*.

    Holds the build folder (locking installs runtimes there), waiting for it
    up to ``options.lock_timeout`` seconds, and first repairs it if an earlier
    run was killed (see `recover_build_folder`).
    """
    spec = load_stack_spec(spec_path)
    instructions, selection = compute_lock_instructions(spec, options)
    build_dir = resolve_option_path(spec, options.build_dir)
    with hold_folders([build_dir], command="lock", timeout=options.lock_timeout, reporter=waiting):
        _report_recovery(recover_build_folder(build_dir), on_recovery)
        return _lock_stack(spec, options, instructions, selection, build_dir)


def _lock_stack(
    spec: StackSpec,
    options: LockOptions,
    instructions: dict[BuildName, LockInstruction],
    selection: LayerSelection,
    build_dir: Path,
) -> LockResult:
    source = find_runtime_source(options.python_mirror, os.environ)
    cache = find_cache(options.cache)
    interpreters: dict[BuildName, Path] = {}
    installing = threading.Lock()  # layers of one wave lock in parallel

    def python_for(runtime: Layer) -> Path:
        with installing:
            return _python_for(runtime)

    def _python_for(runtime: Layer) -> Path:
        if runtime.build_name not in interpreters:
            folder = build_dir / runtime.build_name
            if options.clean or not _runtime_matches(runtime, folder):
                # Swapped in over the folder: removing it first could leave half of it.
                build_runtime_layer(runtime, build_dir, source, base_only=True, cache=cache)
            interpreters[runtime.build_name] = folder / compute_runtime_python()
        return interpreters[runtime.build_name]

    index_options = IndexOptions(
        query_default_index=options.index,
        local_wheel_dirs=tuple(resolve_option_path(spec, d) for d in options.local_wheels),
    )
    stack_lock = lock_layers(
        spec,
        instructions,
        build_dir=build_dir,
        index_options=index_options,
        python_for=python_for,
    )
    return LockResult(spec, stack_lock.locked, selection.unmatched)


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
        _layer_status(layer, locks, operations=operations[layer.build_name])
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
    _report_recovery(
        recover_build_folder(resolve_option_path(spec, options.build_dir)), on_recovery
    )
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
        _layer_status(
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
            _report_recovery(recover_build_folder(build_dir), on_recovery)
            output_dir = resolve_option_path(spec, options.output_dir)
            _report_recovery(recover_publication(output_dir), on_recovery)
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
            _report_recovery(recover_build_folder(build_dir), on_recovery)
            _report_recovery(
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
