"""Lock hashes, lock validity and lock versions (reference §3.3, §4.4, §4.6).

The four hash recipes of venvstacks 0.8 are reproduced exactly, so a project
locked by 0.8 is recognised as validly locked.  We add a fifth hash,
``deployment_inputs_hash``: for versioned layers, a change in the post-install
module, the runtime's deployed name or the deployed paths of the framework
layers also bumps the lock version.  Metadata written by 0.8 lacks it and stays
valid; it is adopted (recorded without a version bump) the next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from venvstacks.hashing import hash_strings
from venvstacks.lock.constraints import PylockError, parse_locked_pins
from venvstacks.lock.metadata import LockMetadata
from venvstacks.lock.wheels import compute_wheel_file_name
from venvstacks.spec.platforms import TargetPlatform

UNSPECIFIED_INDEX = "unspecified index"


def _clean_requirement_lines(lines: Iterable[str]) -> list[str]:
    # As 0.8 reads flat requirements: drop line continuations, comments, blank
    # lines and hash pins.
    cleaned = []
    for line in lines:
        text = line.rstrip("\\").strip().partition("#")[0].strip()
        if text and "--hash" not in text:
            cleaned.append(text)
    return sorted(cleaned)


def compute_lock_input_hash(requirement_lines: Iterable[str]) -> str:
    """Hash a layer's declared requirements (the lines of ``requirements-<group>.in``).

    Pass each requirement as `packaging` renders it (``str(Requirement(text))``,
    e.g. ``dlltracer; sys_platform == "win32"``), as 0.8 does.
    """
    return hash_strings(_clean_requirement_lines(requirement_lines))


def compute_requirements_hash_items(pylock: Mapping[str, Any]) -> list[str]:
    """Return the sorted strings `compute_requirements_hash` hashes (useful when diagnosing).

    Per package ``name==version[ ; marker] from <index>`` (shared packages
    without their ``from_lower_layer`` clause), per wheel and hash algorithm
    ``<wheel file name>:<algorithm>:<hex digest>``.
    """
    items = []
    for index, pin in enumerate(parse_locked_pins(pylock)):
        entry = pylock["packages"][index]
        items.append(f"{pin.render()} from {entry.get('index', UNSPECIFIED_INDEX)}")
        for number, wheel in enumerate(entry.get("wheels", ())):
            where = f"packages[{index}].wheels[{number}]"
            name = compute_wheel_file_name(wheel, where)
            hashes = wheel.get("hashes")
            if not isinstance(hashes, Mapping) or not hashes:
                raise PylockError(f"{where}.hashes: expected a table of hashes, got {hashes!r}")
            items.extend(f"{name}:{algorithm}:{digest}" for algorithm, digest in hashes.items())
    return sorted(items)


def compute_requirements_hash(pylock: Mapping[str, Any]) -> str:
    """Hash the locked content of a parsed ``pylock.<group>.toml`` (as `tomllib` returns it)."""
    return hash_strings(compute_requirements_hash_items(pylock))


def compute_other_inputs_hash(
    py_version: str,
    platforms: Sequence[TargetPlatform],
    *,
    linux_target: str,
    macosx_target: str,
    runtime: str | None = None,
    frameworks: Sequence[str] = (),
) -> str:
    """Hash the non-requirement inputs that invalidate a lock.

    In order: ``py_version=X.Y``; ``linux_target=<value>`` if any of *platforms*
    is Linux; ``macosx_target=<value>`` if any is macOS; then, for layers on a
    runtime, its build name and the base names of the linearised frameworks.
    """
    items = [f"py_version={'.'.join(py_version.split('.')[:2])}"]
    if any(platform.is_linux for platform in platforms):
        items.append(f"linux_target={linux_target}")
    if any(platform.is_macos for platform in platforms):
        items.append(f"macosx_target={macosx_target}")
    if runtime is not None:
        items.append(runtime)
    items.extend(frameworks)
    return hash_strings(items)


def compute_version_inputs_hash(
    build_name: str,
    versioned: bool,
    launch_module_hash: str | None = None,
    support_module_hashes: Mapping[str, str] | None = None,
    exclude_packages: Sequence[str] = (),
) -> str:
    """Hash the inputs that only matter to versioned layers.

    ``env_name=<build name>``, ``is_versioned_layer=<True|False>``, then for
    applications the launch module hash and the support module hashes, the
    latter keyed by their spec path and fed in sorted path order, then (our
    addition, only when there are any) ``exclude_packages=<sorted names>``.
    """
    items = [f"env_name={build_name}", f"is_versioned_layer={versioned}"]
    if launch_module_hash is not None:
        items.append(launch_module_hash)
    support = support_module_hashes or {}
    items.extend(support[path] for path in sorted(support))
    if exclude_packages:
        items.append(f"exclude_packages={','.join(sorted(exclude_packages))}")
    return hash_strings(items)


def compute_deployment_inputs_hash(
    postinstall_hash: str,
    runtime_deployed_name: str | None,
    framework_deployed_paths: Sequence[str],
) -> str:
    """Hash what a versioned layer's deployed startup path depends on (our addition).

    ``postinstall=<hash of the post-install module>``, ``runtime=<deployed
    name>`` (layers on a runtime only), then ``framework=<deployed relative
    path>`` per framework layer in ``sys.path`` order.  Each item is labelled
    because `hash_strings` joins items without separators.
    """
    items = [f"postinstall={postinstall_hash}"]
    if runtime_deployed_name is not None:
        items.append(f"runtime={runtime_deployed_name}")
    items.extend(f"framework={path}" for path in framework_deployed_paths)
    return hash_strings(items)


@dataclass(frozen=True)
class LockInputs:
    """The current hashes of a layer, to compare with its stored lock metadata.

    ``requirements_hash`` is ``None`` when the pylock file is missing.
    ``deployment_inputs_hash`` must be set for versioned layers (it is ignored
    for unversioned ones, which may leave it ``None``).
    """

    requirements_hash: str | None
    lock_input_hash: str
    other_inputs_hash: str
    version_inputs_hash: str
    deployment_inputs_hash: str | None = None


# Fields whose change needs a new resolution; the version inputs only bump the version.
RESOLUTION_FIELDS = ("requirements_hash", "lock_input_hash", "other_inputs_hash")


@dataclass(frozen=True)
class LockValidity:
    """Why a layer's lock is valid or not.

    ``missing`` lists absent files (``pylock``, ``metadata``), ``changed`` the
    metadata fields that no longer match, ``unlocked_dependencies`` the lower
    layers needing a lock.  ``adopt_deployment_inputs`` is set when valid 0.8
    metadata of a versioned layer lacks our ``deployment_inputs_hash``.
    ``stale_shared`` names packages this lock takes from lower layers that the
    lower layers' current locks no longer provide at that version.
    """

    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unlocked_dependencies: tuple[str, ...] = ()
    adopt_deployment_inputs: bool = False
    stale_shared: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        """Whether the existing lock and metadata can be used as they are."""
        return not (self.missing or self.changed or self.unlocked_dependencies or self.stale_shared)

    @property
    def needs_resolution(self) -> bool:
        """Whether uv must resolve again (not just the metadata be rewritten)."""
        changed = set(self.changed).intersection(RESOLUTION_FIELDS)
        return bool(self.missing or changed or self.unlocked_dependencies or self.stale_shared)


def compute_lock_validity(
    current: LockInputs,
    stored: LockMetadata | None,
    *,
    versioned: bool,
    unlocked_dependencies: Sequence[str] = (),
) -> LockValidity:
    """Compare a layer's current hashes with its stored metadata (§4.6).

    Version inputs count for versioned layers only; so does the deployment
    inputs hash, and only when the stored metadata has one (0.8 metadata
    without it stays valid).
    """
    missing = ("pylock",) if current.requirements_hash is None else ()
    if stored is None:
        return LockValidity((*missing, "metadata"), (), tuple(unlocked_dependencies))
    fields = list(RESOLUTION_FIELDS)
    if versioned:
        fields.append("version_inputs_hash")
        if stored.deployment_inputs_hash is not None:
            fields.append("deployment_inputs_hash")
    # A missing pylock also shows as a changed `requirements_hash`.
    changed = tuple(field for field in fields if getattr(current, field) != getattr(stored, field))
    adopt = (
        versioned
        and stored.deployment_inputs_hash is None
        and current.deployment_inputs_hash is not None
    )
    return LockValidity(missing, changed, tuple(unlocked_dependencies), adopt)


def compute_next_lock_version(previous: LockMetadata | None, versioned: bool, changed: bool) -> int:
    """Return the lock version to record (§3.3).

    Unversioned layers and first locks get 1; a changed lock gets the previous
    version plus one (even if that was recorded while unversioned); an
    unchanged one, including 0.8 metadata merely adopting our extra hash, keeps it.
    """
    if not versioned or previous is None:
        return 1
    return previous.lock_version + 1 if changed else previous.lock_version


def compute_locked_at(pylock_mtime: datetime, exclude_newer: datetime | None) -> datetime:
    """Return the lock time: the pylock's modification time, clamped to ``exclude-newer``."""
    if exclude_newer is not None and exclude_newer < pylock_mtime:
        return exclude_newer
    return pylock_mtime


def compute_lock_metadata(
    current: LockInputs,
    previous: LockMetadata | None,
    *,
    versioned: bool,
    pylock_mtime: datetime,
    exclude_newer: datetime | None = None,
) -> LockMetadata:
    """Return the metadata to record after locking (write it if it differs from *previous*).

    Still-valid metadata is kept (old ``locked_at`` included) unless it is
    later than *exclude_newer*; versioned 0.8 metadata only gains
    ``deployment_inputs_hash``.  Otherwise new metadata is made, with a bumped
    version for versioned layers.
    """
    if current.requirements_hash is None:
        raise ValueError("can't record lock metadata without a pylock file")
    validity = compute_lock_validity(current, previous, versioned=versioned)
    deployment = current.deployment_inputs_hash if versioned else None
    if previous is not None and validity.is_valid:
        too_late = exclude_newer is not None and previous.locked_at > exclude_newer
        if not too_late and validity.adopt_deployment_inputs:
            return previous.model_copy(update={"deployment_inputs_hash": deployment})
        if not too_late:
            return previous
    return LockMetadata(
        requirements_hash=current.requirements_hash,
        lock_input_hash=current.lock_input_hash,
        other_inputs_hash=current.other_inputs_hash,
        version_inputs_hash=current.version_inputs_hash,
        deployment_inputs_hash=deployment,
        lock_version=compute_next_lock_version(previous, versioned, changed=True),
        locked_at=compute_locked_at(pylock_mtime, exclude_newer),
    )
