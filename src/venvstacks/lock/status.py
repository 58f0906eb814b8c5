"""The lock status of every layer: current input hashes against the stored metadata.

Layers are visited in definition order, so a layer's dependencies are always
known first: a dependency that needs locking makes its dependants need locking
too, and a versioned dependency's deployed name (``name@N``) feeds the
dependants' deployment inputs.  Reading the status needs no network and no uv.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from packaging.utils import canonicalize_name

from venvstacks.hashing import hash_module, hash_strings
from venvstacks.lock.constraints import PylockError, compute_constraints, parse_locked_pins
from venvstacks.lock.metadata import LockMetadata, load_lock_metadata
from venvstacks.lock.paths import LockPaths, compute_lock_paths
from venvstacks.lock.versioning import (
    LockInputs,
    LockValidity,
    compute_deployment_inputs_hash,
    compute_lock_input_hash,
    compute_lock_validity,
    compute_other_inputs_hash,
    compute_requirements_hash,
    compute_version_inputs_hash,
)
from venvstacks.spec.graph import Layer
from venvstacks.spec.load import StackSpec
from venvstacks.spec.naming import BuildName, DeployedName, compute_deployed_name
from venvstacks.spec.platforms import DEFAULT_LINUX_TARGET

DEFAULT_MACOSX_TARGET = "13.0"


@dataclass(frozen=True)
class LayerLockStatus:
    """One layer's lock: where its files are, what it was made from, whether it still holds."""

    layer: Layer
    paths: LockPaths
    inputs: LockInputs
    stored: LockMetadata | None
    validity: LockValidity
    # Hash of each launch and support module, by its path in the spec.
    module_hashes: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def lock_version(self) -> int | None:
        """The recorded lock version (always 1 for unversioned layers), None if never locked."""
        if self.stored is None:
            return None
        return self.stored.lock_version if self.layer.versioned else 1

    @property
    def deployed_name(self) -> DeployedName:
        """The folder name the layer deploys to (``name@N`` for versioned layers)."""
        return compute_deployed_name(
            self.layer.build_name, versioned=self.layer.versioned, lock_version=self.lock_version
        )


def compute_py_version(layer: Layer) -> str:
    """Return the runtime version a layer is locked for, from ``python_implementation``."""
    return layer.python_implementation.partition("@")[2]


def compute_linux_target(layer: Layer) -> str:
    """Return the layer's ``linux_target`` value (default ``glibc@2.28``)."""
    return layer.linux_target or DEFAULT_LINUX_TARGET


def compute_macosx_target(layer: Layer, environ: Mapping[str, str] = os.environ) -> str:
    """Return the layer's ``macosx_target`` (default: ``MACOSX_DEPLOYMENT_TARGET``, else ``13.0``)."""
    return layer.macosx_target or environ.get("MACOSX_DEPLOYMENT_TARGET") or DEFAULT_MACOSX_TARGET


def compute_postinstall_hash() -> str:
    """Hash the post-install script every layer carries."""
    text = files("venvstacks._injected").joinpath("postinstall.py").read_text(encoding="utf-8")
    return hash_strings([text])


def load_pylock(path: Path) -> dict[str, object] | None:
    """Read a pylock file; None when it is missing or not valid TOML."""
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _requirements_hash(path: Path) -> str | None:
    pylock = load_pylock(path)
    if pylock is None:
        return None
    try:
        return compute_requirements_hash(pylock)
    except ValueError:  # malformed entries: the lock is not usable
        return None


def compute_module_hashes(spec_dir: Path, layer: Layer) -> dict[str, str]:
    """Hash a layer's launch and support modules, keyed by their paths in the spec."""
    modules = [m for m in (layer.launch_module, *layer.support_modules) if m is not None]
    return {str(path): hash_module(spec_dir / path) for path in modules}


def compute_lock_inputs(
    layer: Layer,
    dependencies: tuple[LayerLockStatus, ...],
    paths: LockPaths,
    postinstall_hash: str,
    module_hashes: Mapping[str, str],
) -> LockInputs:
    """Compute a layer's current input hashes (the pylock's from the file on disk)."""
    runtime = next((d for d in dependencies if d.layer.runtime is None), None)
    frameworks = [d for d in dependencies if d.layer.runtime is not None]
    support_hashes = {str(path): module_hashes[str(path)] for path in layer.support_modules}
    launch_hash = None if layer.launch_module is None else module_hashes[str(layer.launch_module)]
    return LockInputs(
        requirements_hash=_requirements_hash(paths.pylock),
        lock_input_hash=compute_lock_input_hash(str(r) for r in layer.requirements),
        other_inputs_hash=compute_other_inputs_hash(
            compute_py_version(layer),
            layer.platforms,
            linux_target=compute_linux_target(layer),
            macosx_target=compute_macosx_target(layer),
            runtime=None if runtime is None else runtime.layer.build_name,
            frameworks=[d.layer.name for d in frameworks],
        ),
        version_inputs_hash=compute_version_inputs_hash(
            layer.build_name,
            layer.versioned,
            launch_hash,
            support_hashes,
            exclude_packages=layer.exclude_packages,
        ),
        deployment_inputs_hash=compute_deployment_inputs_hash(
            postinstall_hash,
            None if runtime is None else runtime.deployed_name,
            [f"../{d.deployed_name}" for d in frameworks],
        ),
    )


def compute_layer_status(
    spec: StackSpec,
    layer: Layer,
    statuses: Mapping[BuildName, LayerLockStatus],
    postinstall_hash: str,
) -> LayerLockStatus:
    """Compute one layer's lock status, given its dependencies' statuses."""
    dependencies = tuple(statuses[d.build_name] for d in spec.graph.dependencies(layer))
    paths = compute_lock_paths(spec.spec_dir, layer.build_name)
    module_hashes = compute_module_hashes(spec.spec_dir, layer)
    inputs = compute_lock_inputs(layer, dependencies, paths, postinstall_hash, module_hashes)
    stored = load_lock_metadata(paths.metadata)
    unlocked = [d.layer.build_name for d in dependencies if not d.validity.is_valid]
    validity = compute_lock_validity(
        inputs, stored, versioned=layer.versioned, unlocked_dependencies=unlocked
    )
    if validity.is_valid and dependencies:
        stale = find_stale_shared_packages(paths, dependencies)
        if stale:
            validity = dataclasses.replace(validity, stale_shared=stale)
    return LayerLockStatus(layer, paths, inputs, stored, validity, module_hashes)


def find_stale_shared_packages(
    paths: LockPaths, dependencies: tuple[LayerLockStatus, ...]
) -> tuple[str, ...]:
    """Return the shared packages of a lock that its lower layers no longer provide as locked.

    A lower layer relocked on its own (``lock --include <it>``) may have moved a
    package the upper layer takes from it to another version; the upper lock
    then needs resolving again.
    """
    own = load_pylock(paths.pylock)
    if own is None:
        return ()
    ordered = (*dependencies[-1:], *dependencies[:-1])  # runtime first
    lower = compute_constraints(lock for d in ordered if (lock := load_pylock(d.paths.pylock)))
    provided = {(canonicalize_name(pin.name), pin.version) for pin in lower}
    try:
        shared = [pin for pin in parse_locked_pins(own) if pin.shared]
    except PylockError:
        return ()
    return tuple(
        pin.name for pin in shared if (canonicalize_name(pin.name), pin.version) not in provided
    )


def compute_stack_lock_status(spec: StackSpec) -> dict[BuildName, LayerLockStatus]:
    """Compute the lock status of every enabled layer, in definition order."""
    postinstall_hash = compute_postinstall_hash()
    statuses: dict[BuildName, LayerLockStatus] = {}
    for layer in spec.graph:
        if layer.enabled:
            statuses[layer.build_name] = compute_layer_status(
                spec, layer, statuses, postinstall_hash
            )
    return statuses
