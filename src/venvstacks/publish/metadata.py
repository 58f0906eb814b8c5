"""Published layer metadata (venvstacks 0.8 field names, reference §6.4) and file names (§6.3).

Per layer: ``__venvstacks__/env_metadata/<layer name>[-<platform>].json``; for the
whole run: ``__venvstacks__/venvstacks[-<platform>].json`` listing the layers
published in that run.  We add ``archive_format``, ``build_tools`` (venvstacks,
uv and Python versions that made the archive), ``layer_inputs_hash`` (what
the layer was built from, so an edited launch module is re-archived even in an
unversioned layer) and ``unpacked_size`` (the total size of the archive's
files, which bounds what deploy unpacks).

`compute_archive_request` is the one place a layer's archive metadata is
planned, for real publications and dry runs alike; a dry run prints it without
the `ARCHIVE_ONLY_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from venvstacks.lock.metadata import render_locked_at
from venvstacks.lock.status import LayerLockStatus
from venvstacks.spec.naming import LayerKind

METADATA_DIR = "__venvstacks__"
# Fields whose change means the archive must be built again (reference §6.5, plus ours).
ARCHIVE_INPUT_FIELDS = (
    "archive_build",
    "archive_name",
    "install_target",
    "layer_name",
    "lock_version",
    "locked_at",
    "requirements_hash",
    "target_platform",
    "archive_format",
    "layer_inputs_hash",
)
# Fields only an archive, or the build it is made from, can give: a dry run, which
# needs neither, leaves them out (0.8 left out `archive_size` and `archive_hashes`).
# `layer_metadata_hashes` (manifest entries only) hashes the metadata file a real run writes.
ARCHIVE_ONLY_FIELDS = (
    "archive_size",
    "archive_hashes",
    "unpacked_size",
    "build_tools",
    "layer_inputs_hash",
    "file_manifest_hashes",
    "sbom_hashes",
    "layer_metadata_hashes",
)


def compute_tag(platform: str, tag_outputs: bool) -> str:
    """Return the ``-<platform>`` suffix of tagged metadata names (empty when untagged)."""
    return f"-{platform}" if tag_outputs else ""


def compute_archive_name(
    install_target: str,
    archive_format: str,
    *,
    platform: str,
    archive_build: int,
    tag_outputs: bool,
) -> str:
    """``<install target>.<ext>``, or ``<install target>-<platform>-<build>.<ext>`` when tagged."""
    if tag_outputs:
        return f"{install_target}-{platform}-{archive_build}.{archive_format}"
    return f"{install_target}.{archive_format}"


def compute_layer_metadata_path(output_dir: Path, layer_name: str, tag: str) -> Path:
    """Where a layer's published metadata lives."""
    return output_dir / METADATA_DIR / "env_metadata" / f"{layer_name}{tag}.json"


def compute_manifest_path(output_dir: Path, tag: str) -> Path:
    """Where the combined manifest of a run lives."""
    return output_dir / METADATA_DIR / f"venvstacks{tag}.json"


def compute_layer_metadata(
    status: LayerLockStatus,
    dependencies: Sequence[LayerLockStatus],
    *,
    windows: bool,
) -> dict[str, Any]:
    """Return the fields every published layer has (archive and export alike).

    *dependencies* are the layers it runs on in ``sys.path`` order (runtime last).
    """
    layer, stored = status.layer, status.stored
    if stored is None:
        raise ValueError(f"{layer.build_name} has no lock metadata")
    data: dict[str, Any] = {
        "layer_name": layer.build_name,
        "install_target": status.deployed_name,
        "requirements_hash": stored.requirements_hash,
        "lock_version": status.lock_version,
        "locked_at": render_locked_at(stored.locked_at),
        "python_implementation": layer.python_implementation,
    }
    if layer.kind is LayerKind.RUNTIME:
        data["runtime_layer"] = status.deployed_name
        data["bound_to_implementation"] = True
        return data
    data["runtime_layer"] = dependencies[-1].deployed_name
    data["bound_to_implementation"] = windows
    data["required_layers"] = [d.deployed_name for d in dependencies[:-1]]
    if layer.launch_module is not None:
        data["app_launch_module"] = layer.launch_module.stem
        data["app_launch_module_hash"] = status.module_hashes[str(layer.launch_module)]
        if layer.support_modules:
            data["app_support_modules"] = [
                {"name": path.stem, "hash": status.module_hashes[str(path)]}
                for path in sorted(layer.support_modules, key=str)
            ]
    return data


def compute_manifest(
    layers: Sequence[Mapping[str, Any]], kinds: Sequence[LayerKind]
) -> dict[str, Any]:
    """Return the combined manifest: every kind present, layers in definition order."""
    manifest: dict[str, list[Mapping[str, Any]]] = {kind.value: [] for kind in LayerKind}
    for kind, data in zip(kinds, layers, strict=True):
        manifest[kind.value].append(data)
    return {"layers": manifest}


def compute_archive_request(
    status: LayerLockStatus,
    dependencies: Sequence[LayerLockStatus],
    *,
    platform: str,
    archive_format: str,
    tag_outputs: bool,
    layer_inputs_hash: str | None,
    previous: Mapping[str, Any] | None,
    previous_archive_size: int | None,
    force: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Plan one layer's archive: its metadata, and whether the archive must be written.

    Everything comes from the lock (*status*, *dependencies*), the layer's build
    inputs (*layer_inputs_hash*, None when the layer is not built: a dry run) and
    the metadata of the previous publication to the same folder (*previous*, with
    *previous_archive_size* the size of the file its ``archive_name`` names now,
    None if missing).  An unchanged layer keeps its previous metadata as it is;
    otherwise the build number goes up (reference §6.5).  Fields that only an
    archive can give are left to the caller.
    """
    request = compute_layer_metadata(status, dependencies, windows=platform.startswith("win"))
    request["target_platform"] = platform
    request["archive_format"] = archive_format
    if layer_inputs_hash is not None:
        request["layer_inputs_hash"] = layer_inputs_hash
    same_version = previous is not None and previous.get("lock_version") == status.lock_version
    last_build = int(previous.get("archive_build", 0)) if previous and same_version else 0

    def name(archive_build: int) -> str:
        return compute_archive_name(
            status.deployed_name, archive_format, platform=platform,
            archive_build=archive_build, tag_outputs=tag_outputs,
        )  # fmt: skip

    request["archive_build"] = max(last_build, 1)
    request["archive_name"] = name(request["archive_build"])
    unchanged = (
        previous is not None
        and not force
        # Without a build (dry run), the build inputs can't be compared: the rest decides.
        and all(previous.get(f) == request[f] for f in ARCHIVE_INPUT_FIELDS if f in request)
        and previous_archive_size is not None
        and previous_archive_size == previous.get("archive_size")
        and "unpacked_size" in previous  # published before the field existed: add it
    )
    if unchanged and previous is not None:
        return dict(previous), False
    if previous is not None and same_version:
        request["archive_build"] = last_build + 1
        request["archive_name"] = name(request["archive_build"])
    return request, True


def compute_dry_run_request(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a dry run reports of a layer's metadata: no `ARCHIVE_ONLY_FIELDS`."""
    return {key: value for key, value in metadata.items() if key not in ARCHIVE_ONLY_FIELDS}
