"""Locking the selected layers of a stack, lowest layers first.

Per layer: resolve with uv (unless an ``if needed`` lock is still valid), post-
process the export, write the pylock, then the metadata, then the derived
views.  Each file is written atomically and only when its content changes, so
an unchanged relock leaves every file (and its mtime) as it was.  If a run is
interrupted between the pylock and its metadata, the recomputed
``requirements_hash`` no longer matches and the layer shows as needing a lock:
never a lock and metadata that silently disagree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from venvstacks.errors import LockError, LockRunError, VenvStacksError
from venvstacks.fs import write_text
from venvstacks.lock.constraints import (
    LockedPin,
    compute_constraints,
    parse_locked_pins,
    render_constraints,
)
from venvstacks.lock.exclusions import find_excluded_needs
from venvstacks.lock.markers import compute_candidate_versions, compute_marker_environment
from venvstacks.lock.metadata import write_lock_metadata
from venvstacks.lock.project import IndexOptions, render_resolve_project
from venvstacks.lock.pylock import LockTarget, postprocess_pylock
from venvstacks.lock.resolve import resolve_layer
from venvstacks.lock.status import (
    LayerLockStatus,
    compute_layer_status,
    compute_linux_target,
    compute_macosx_target,
    compute_postinstall_hash,
    compute_py_version,
    load_pylock,
)
from venvstacks.lock.versioning import compute_lock_metadata
from venvstacks.lock.views import (
    PlatformPackage,
    render_package_summary,
    render_platform_view,
    render_requirements_in,
    select_platform_packages,
)
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName
from venvstacks.spec.platforms import (
    ALL_PLATFORMS,
    TargetPlatform,
    parse_linux_target,
    parse_macosx_target,
)
from venvstacks.tools._subprocess import Runner, run


@dataclass(frozen=True)
class LockInstruction:
    """What to do with one selected layer: relock, or lock only if needed; reset first or not."""

    if_needed: bool = False
    reset: bool = False


class LockAction(StrEnum):
    """What locking did to a layer."""

    RESOLVED = "resolved"  # uv ran; the lock may or may not have changed
    REVERSIONED = "reversioned"  # only the version inputs changed: new metadata, same lock
    KEPT = "kept"  # the existing lock was still valid


@dataclass(frozen=True)
class LockedLayer:
    """A layer after locking: its new status, and whether its lock or metadata changed."""

    status: LayerLockStatus
    action: LockAction
    changed: bool


@dataclass(frozen=True)
class StackLock:
    """The outcome of a lock run: every enabled layer's status, and what happened to the selected ones."""

    statuses: Mapping[BuildName, LayerLockStatus]
    locked: tuple[LockedLayer, ...]


def compute_exclude_newer(
    settings: Mapping[str, Any], environ: Mapping[str, str]
) -> datetime | None:
    """Return the ``exclude-newer`` time that clamps lock times (``UV_EXCLUDE_NEWER`` wins)."""
    raw = environ.get("UV_EXCLUDE_NEWER") or settings.get("exclude-newer")
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None  # a relative or date-only value: uv interprets it; no clamp
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_text(path, text)
    return True


def write_lock_views(status: LayerLockStatus) -> None:
    """Rewrite the files derived from a layer's lock (requirements .in, summary, platform views).

    Views of platforms the layer doesn't target (any more) are removed.
    """
    layer, paths = status.layer, status.paths
    _write_if_changed(paths.requirements_in, render_requirements_in(layer.requirements))
    lock = load_pylock(paths.pylock)
    if lock is None:
        return
    _write_if_changed(paths.summary, render_package_summary(layer.build_name, lock))
    target = _lock_target(layer)
    for platform in layer.platforms:
        view = render_platform_view(
            layer.build_name,
            platform,
            lock,
            _marker_environments(target, platform),
            linux_version=target.linux_version,
            macosx_version=target.macosx_version,
            exclude=layer.exclude_packages,
        )
        _write_if_changed(paths.platform_view(platform), view)
    for platform in ALL_PLATFORMS:  # views of platforms no longer targeted would be stale
        if platform not in layer.platforms:
            paths.platform_view(platform).unlink(missing_ok=True)


def _marker_environments(target: LockTarget, platform: TargetPlatform) -> list[dict[str, str]]:
    return [
        compute_marker_environment(platform, version, target.implementation)
        for version in compute_candidate_versions(target.python_version)
    ]


def compute_platform_packages(
    layer: Layer, lock: Mapping[str, Any], platform: TargetPlatform
) -> list[PlatformPackage]:
    """Return the layer's own locked packages that install on *platform* (its platform view).

    Packages the layer excludes (``exclude_packages``) are left out: the build doesn't install them.
    """
    target = _lock_target(layer)
    packages = select_platform_packages(
        platform,
        lock,
        _marker_environments(target, platform),
        linux_version=target.linux_version,
        macosx_version=target.macosx_version,
    )
    return [p for p in packages if canonicalize_name(p.name) not in layer.exclude_packages]


def _lock_target(layer: Layer) -> LockTarget:
    return LockTarget(
        platforms=layer.platforms,
        python_version=compute_py_version(layer),
        implementation=layer.python_implementation.partition("@")[0],
        linux_version=parse_linux_target(compute_linux_target(layer)).version,
        macosx_version=parse_macosx_target(compute_macosx_target(layer)),
    )


@dataclass(frozen=True)
class _Context:
    spec: StackSpec
    build_dir: Path
    settings: Mapping[str, Any]
    index_options: IndexOptions
    exclude_newer: datetime | None
    python_for: Callable[[Layer], Path]
    runner: Runner


def _resolve(
    context: _Context, status: LayerLockStatus, lower: tuple[LayerLockStatus, ...]
) -> bool:
    layer, paths = status.layer, status.paths
    # Runtime first, then the frameworks in sys.path order (reference §4.5).
    ordered = (*lower[-1:], *lower[:-1])
    lower_locks = [lock for d in ordered if (lock := load_pylock(d.paths.pylock)) is not None]
    constraints: tuple[LockedPin, ...] = compute_constraints(lower_locks)
    runtime = next((d.layer for d in lower if d.layer.runtime is None), layer)
    project = render_resolve_project(
        layer,
        compute_py_version(layer),
        context.settings,
        render_constraints(constraints),
        context.index_options,
        spec_dir=context.spec.spec_dir,
    )
    exported = resolve_layer(
        layer.build_name,
        context.build_dir / f"{layer.build_name}_resolve",
        project,
        context.python_for(runtime),
        runner=context.runner,
    )
    processed = postprocess_pylock(
        exported,
        label=layer.build_name,
        target=_lock_target(layer),
        constraints=constraints,
        lock_dir=paths.folder,
    )
    return _write_if_changed(paths.pylock, processed.render())


def _record(context: _Context, status: LayerLockStatus) -> bool:
    """Write the metadata for the layer's current lock; return whether it changed."""
    mtime = datetime.fromtimestamp(status.paths.pylock.stat().st_mtime, tz=UTC)
    meta = compute_lock_metadata(
        status.inputs,
        status.stored,
        versioned=status.layer.versioned,
        pylock_mtime=mtime,
        exclude_newer=context.exclude_newer,
    )
    if meta == status.stored:
        return False
    write_lock_metadata(status.paths.metadata, meta)
    return True


def _check_exclusions(status: LayerLockStatus, lower: tuple[LayerLockStatus, ...]) -> None:
    """Raise `LockError` if the layer needs a package a lower layer excludes."""
    if not any(d.layer.exclude_packages for d in lower):
        return
    lock = load_pylock(status.paths.pylock)
    lower_pins = [
        (d.layer.build_name, d.layer.exclude_packages, parse_locked_pins(lower_lock))
        for d in lower
        if (lower_lock := load_pylock(d.paths.pylock)) is not None
    ]
    problems = find_excluded_needs(
        status.layer.build_name, parse_locked_pins(lock) if lock else (), lower_pins
    )
    if problems:
        raise LockError("\n".join(problems))


def _lock_one(
    context: _Context,
    status: LayerLockStatus,
    instruction: LockInstruction,
    statuses: Mapping[BuildName, LayerLockStatus],
    relocked_below: bool,
) -> tuple[LockAction, bool]:
    layer = status.layer
    lower = tuple(statuses[d.build_name] for d in context.spec.graph.dependencies(layer))
    unlocked = [d.layer.build_name for d in lower if not d.validity.is_valid]
    if unlocked:
        raise LockError(
            f"{layer.build_name}: can't lock before {', '.join(unlocked)}; lock those first "
            f"(venvstacks lock --include {layer.build_name} --lock-dependencies)"
        )
    validity = status.validity
    # A lower layer whose locked packages just changed may now provide (or stop
    # providing) packages of this one: resolve again even when only "if needed".
    if_needed = instruction.if_needed and not instruction.reset and not relocked_below
    if if_needed and validity.is_valid:
        _check_exclusions(status, lower)
        adopted = validity.adopt_deployment_inputs and _record(context, status)
        return LockAction.KEPT, adopted
    if if_needed and status.stored and not validity.needs_resolution:
        _check_exclusions(status, lower)
        return LockAction.REVERSIONED, _record(context, status)
    if instruction.reset:
        status.paths.pylock.unlink(missing_ok=True)
    changed = _resolve(context, status, lower)
    _check_exclusions(status, lower)
    fresh = compute_layer_status(context.spec, layer, statuses, compute_postinstall_hash())
    return LockAction.RESOLVED, _record(context, fresh) or changed


def compute_lock_waves(spec: StackSpec) -> list[list[Layer]]:
    """Group the enabled layers into waves that can be locked in parallel.

    Runtimes come first; every other layer comes one wave after the highest of
    the frameworks it runs on, so a wave only needs the locks of earlier waves.
    """
    depth: dict[BuildName, int] = {}
    waves: list[list[Layer]] = []
    for layer in spec.graph:  # definition order: what a layer runs on comes before it
        if not layer.enabled:
            continue
        below = [
            depth[d.build_name] for d in spec.graph.dependencies(layer) if d.runtime is not None
        ]
        level = 0 if layer.runtime is None else 1 + max(below, default=0)
        depth[layer.build_name] = level
        while len(waves) <= level:
            waves.append([])
        waves[level].append(layer)
    return [wave for wave in waves if wave]


def lock_layers(
    spec: StackSpec,
    instructions: Mapping[BuildName, LockInstruction],
    *,
    build_dir: Path,
    index_options: IndexOptions,
    python_for: Callable[[Layer], Path],
    runner: Runner = run,
    environ: Mapping[str, str] = os.environ,
) -> StackLock:
    """Lock the layers named in *instructions* (lowest first); report every layer's status.

    Layers of one wave (see `compute_lock_waves`) are locked in parallel.
    *python_for* returns the interpreter of a runtime layer, installing it if
    needed; it is only called when uv has to resolve, and must be thread-safe.

    A failing layer doesn't stop the others: layers that don't run on a failed
    one are still locked, layers above it are not attempted.  Then the errors
    are raised in layer order: a single one as it is, several as a
    `LockRunError` that also says, per selected layer not attempted, why.
    """
    settings = dict(spec.uv.settings)
    if environ.get("UV_EXCLUDE_NEWER"):
        settings["exclude-newer"] = environ["UV_EXCLUDE_NEWER"]
    context = _Context(
        spec,
        build_dir,
        settings,
        index_options,
        compute_exclude_newer(spec.uv.settings, environ),
        python_for,
        runner,
    )
    postinstall_hash = compute_postinstall_hash()
    statuses: dict[BuildName, LayerLockStatus] = {}
    relocked: set[BuildName] = set()  # layers whose locked packages changed in this run
    order = {layer.build_name: index for index, layer in enumerate(spec.graph)}
    locked: list[LockedLayer] = []

    def process(layer: Layer) -> tuple[LayerLockStatus, LockedLayer | None, bool]:
        # Reads only the statuses of earlier waves, which no other thread changes.
        status = compute_layer_status(spec, layer, statuses, postinstall_hash)
        instruction = instructions.get(layer.build_name)
        if instruction is None:
            return status, None, False
        below = {d.build_name for d in spec.graph.dependencies(layer)}
        action, changed = _lock_one(context, status, instruction, statuses, bool(below & relocked))
        fresh = compute_layer_status(spec, layer, statuses, postinstall_hash)
        write_lock_views(fresh)
        lock_changed = fresh.inputs.requirements_hash != status.inputs.requirements_hash
        return fresh, LockedLayer(fresh, action, changed), lock_changed

    # Layers that failed (with their error), and those not attempted because a layer
    # below failed (with an error when they were selected, else None).
    failed: dict[BuildName, VenvStacksError | None] = {}
    errored: set[BuildName] = set()
    for wave in compute_lock_waves(spec):
        ready = []
        for layer in wave:
            below = [d.build_name for d in spec.graph.dependencies(layer) if d.build_name in failed]
            if not below:
                ready.append(layer)
                continue
            failed[layer.build_name] = None
            if layer.build_name in instructions:
                causes = ", ".join(name for name in below if name in errored)
                failed[layer.build_name] = LockError(
                    f"{layer.build_name}: not locked, because {causes} could not be locked"
                )
        with ThreadPoolExecutor(max_workers=max(1, min(len(ready), os.cpu_count() or 1))) as pool:
            futures = [pool.submit(process, layer) for layer in ready]
        for layer, future in zip(ready, futures, strict=True):
            error = future.exception()
            if isinstance(error, VenvStacksError):
                failed[layer.build_name] = error
                errored.add(layer.build_name)
                continue
            status, result, lock_changed = future.result()  # raises anything unexpected
            statuses[layer.build_name] = status
            if result is not None:
                locked.append(result)
            if lock_changed:
                relocked.add(layer.build_name)
    _raise_failures(failed, order)
    locked.sort(key=lambda result: order[result.status.layer.build_name])
    return StackLock(statuses, tuple(locked))


def _raise_failures(
    failed: Mapping[BuildName, VenvStacksError | None], order: Mapping[BuildName, int]
) -> None:
    """Raise the errors of a lock run in layer order: alone when there is one."""
    errors = [failed[name] for name in sorted(failed, key=order.__getitem__)]
    reported = [error for error in errors if error is not None]
    if len(reported) == 1:
        raise reported[0]
    if reported:
        raise LockRunError(reported)
