"""What the commands share: status rows, option paths, folder holds, recovery reports.

Per-layer status rows are what ``show`` and every ``--show`` print.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from venvstacks.fs import Recovery
from venvstacks.lock.status import LayerLockStatus, compute_stack_lock_status
from venvstacks.locks import LockWaitReporter, hold_folders
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec, load_stack_spec
from venvstacks.spec.naming import BuildName, DeployedName, LayerKind, compute_deployed_name
from venvstacks.spec.selection import select_layers

# Told what a command repaired after an earlier run was killed (the CLI prints one line).
RecoveryHandler = Callable[[Recovery], None]


def report_recovery(recovery: Recovery, on_recovery: RecoveryHandler | None) -> None:
    """Pass what a repair did to *on_recovery*, if anything was repaired."""
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


def describe_layer(
    layer: Layer,
    locks: Mapping[BuildName, LayerLockStatus],
    dependencies: tuple[LayerStatus, ...] = (),
    operations: tuple[str, ...] | None = None,
) -> LayerStatus:
    """Return the status row of *layer* (its names, lock validity, planned operations)."""
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
        describe_layer(
            layer,
            locks,
            tuple(describe_layer(dep, locks) for dep in spec.graph.dependencies(layer)),
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
