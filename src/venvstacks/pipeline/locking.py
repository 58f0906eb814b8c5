"""``venvstacks lock``: which layers to lock and how, the lock run itself, and its plan."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from packaging.version import InvalidVersion, Version

from venvstacks.builder.runtime import build_runtime_layer
from venvstacks.builder.stamp import recover_build_folder
from venvstacks.cache import (
    CACHE_ENV_VAR,
    find_cache_dir,
    prepare_cache_dir,
)
from venvstacks.errors import VenvStacksError
from venvstacks.lock.locker import LockedLayer, LockInstruction, lock_layers
from venvstacks.lock.project import IndexOptions
from venvstacks.lock.status import compute_stack_lock_status
from venvstacks.locks import LockWaitReporter, hold_folders
from venvstacks.pipeline.status import (
    RecoveryHandler,
    StackStatus,
    describe_layer,
    report_recovery,
    resolve_option_path,
)
from venvstacks.runtimes.install import compute_runtime_python, find_runtime_source
from venvstacks.runtimes.requests import parse_runtime_request
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName
from venvstacks.spec.selection import LayerSelection, select_layers


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
        describe_layer(layer, locks, operations=render_operations(instructions[layer.build_name]))
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
        report_recovery(recover_build_folder(build_dir), on_recovery)
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
